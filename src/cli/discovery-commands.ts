import { WorkflowFailedError } from '@temporalio/client';
import { DiscoverySettingsError, loadDiscoverySettingsFiles, redactedSetting } from '../adapters/discovery/index.js';
import { discoveryNameProblem } from '../domain/ids.js';
import { describeRetirementHold, type RetirementHold } from '../domain/retirement-guard.js';
import { discoveryWorkflowType, type DiscoveryRunResult } from '../workflows/discovery-messages.js';
import { parseCommand, secondsOption } from './args.js';
import type { CommandContext } from './context.js';
import { CliError, exitCodes, failure, notFound, usageError } from './errors.js';
import { clip, relativeTime, table } from './format.js';
import { WaitTimeout, waitWithProgress } from './progress.js';

export const applyUsage = `usage: fleetview discovery apply -f FILE [-f FILE...] [--dry-run]

Validates discovery settings and stores them in MongoDB (discovery_settings). A file is YAML or
JSON, with one or more documents (---), each a setting or a list of settings. Every discovery
applied is due at once: the next discovery tick runs it. Nothing is stored when any document
has a problem; each problem names the file, the document and the field.

  -f, --file FILE   a settings file (repeatable)
  --dry-run         validate only

  name: orders-fleet        # unique: A-Z a-z 0-9 . _ -
  backend: http             # file | http | http_sd
  enabled: true             # default true
  interval: 60              # seconds between runs (fixed rate), default 60
  retirement_guard:         # optional, these are the defaults (README "The retirement guard")
    max_missing_share: 0.5  # hold retirements when a run drops more than this share of the
    min_missing: 3          # discovery's clusters at once, and at least this many
  options:                  # per backend, see README "Discovery"
    url: http://inventory.internal/discovery

example: fleetview discovery apply -f discoveries.yaml`;

export const listUsage = `usage: fleetview discovery list [--json]

Every stored discovery: backend, interval, clusters it lists, next run, how its last run went,
and the retirements its retirement guard holds (release them with fleetview discovery release).
--json prints the settings too, with header values and URL passwords and query values masked.

example: fleetview discovery list`;

export const deleteUsage = `usage: fleetview discovery delete NAME

Deletes a discovery. Its clusters are retired (CLUSTER_RETIRED, their workflows complete) once
their grace period (two intervals of the discovery) has passed, unless another enabled discovery
lists them. Exit 3 when there is no such discovery.

example: fleetview discovery delete orders-fleet`;

export const runUsage = `usage: fleetview discovery run [NAME...] [--timeout SECONDS]

Makes the named discoveries due and runs the discovery workflow now (as a schedule tick would),
then prints what each due discovery found. Without names, runs only those already due.
Exit 1 when a discovery failed; 3 when a name is unknown.

  --timeout SECONDS   how long to wait for the run (default 120)

example: fleetview discovery run orders-fleet`;

export const releaseUsage = `usage: fleetview discovery release NAME

Accepts the shrink of a discovery whose retirements the retirement guard holds (its list
dropped more than max_missing_share of its clusters at once, fleetview discovery list shows
"held"): the held clusters go missing now and retire after their grace period (two intervals of
the discovery), unless a discovery lists them again. Nothing else changes; a discovery that
holds nothing is left as it is. Exit 3 when there is no such discovery.

example: fleetview discovery release orders-fleet`;

export const discoveryUsage = `usage: fleetview discovery <apply|list|delete|run|release> ...

  apply -f FILE     validate and store discovery settings (YAML/JSON)
  list              the stored discoveries, their last runs and held retirements
  delete NAME       delete a discovery (its clusters retire after the grace period)
  run [NAME...]     run the due (or named) discoveries now and print the outcome
  release NAME      let the retirements a discovery's guard holds go ahead

fleetview discovery <command> --help for more.`;

async function applyCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    { command: 'discovery apply', usage: applyUsage, options: { file: { type: 'string', short: 'f', multiple: true }, 'dry-run': { type: 'boolean' } }, positionals: [0, 0] },
    context.out,
  );
  if (!parsed) return;
  const files = parsed.values.file ?? [];
  if (files.length === 0) throw usageError(`fleetview discovery apply: give at least one -f FILE\n\n${applyUsage}`);
  let settings;
  try {
    settings = await loadDiscoverySettingsFiles(files);
  } catch (err) {
    if (err instanceof DiscoverySettingsError) throw usageError(`${err.message}\nnothing was applied`);
    throw err;
  }
  if (settings.length === 0) throw usageError(`no discovery settings in ${files.join(', ')}: nothing was applied`);
  if (parsed.values['dry-run']) {
    for (const setting of settings) context.out(`discovery ${setting.name} (${setting.backend}, every ${setting.interval} s): valid`);
    return;
  }
  const store = await context.services.discoveryStore();
  const now = new Date();
  for (const setting of settings) {
    const result = await store.applySetting(setting, now);
    context.out(`discovery ${setting.name} (${setting.backend}, every ${setting.interval} s${setting.enabled ? '' : ', disabled'}): ${result}, due now`);
  }
  await warnWithoutSchedule(context);
}

/** Applied settings do nothing without the schedule: say so, but never fail the apply for it. */
async function warnWithoutSchedule(context: CommandContext): Promise<void> {
  const scheduleId = context.config.discovery.scheduleId;
  try {
    const client = await context.services.temporal();
    await client.withDeadline(Date.now() + 3000, () => client.schedule.getHandle(scheduleId).describe());
  } catch (err) {
    const reason = err instanceof CliError ? err.message.split('\n')[0] : (err as Error).message;
    context.note(`note: could not find the discovery schedule ${scheduleId} (${reason}); run fleetview start so discoveries run`);
  }
}

async function listCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(argv, { command: 'discovery list', usage: listUsage, options: { json: { type: 'boolean' } }, positionals: [0, 0] }, context.out);
  if (!parsed) return;
  const { settings, invalid } = await (await context.services.discoveryStore()).listSettings();
  if (parsed.values.json) {
    // Header values (tokens) and URL secrets are shown masked: CLI output ends up in terminals and CI logs.
    const shown = settings.map((s) => ({ ...s, setting: redactedSetting(s.setting) }));
    context.out(JSON.stringify({ discoveries: shown, invalid }, null, 2));
    return;
  }
  if (settings.length === 0 && invalid.length === 0) {
    context.out('no discoveries: add one with fleetview discovery apply -f FILE');
    return;
  }
  const rows = settings.map((s) => [
    s.setting.name,
    s.setting.backend,
    s.setting.enabled ? 'yes' : 'no',
    `${s.setting.interval}s`,
    String(s.clusters),
    s.setting.enabled ? relativeTime(s.next_run) : '-',
    relativeTime(s.last_run?.at),
    s.last_run === null ? 'not run yet' : s.last_run.ok ? `ok: ${s.last_run.clusters} clusters, ${s.last_run.changed} changed${s.last_run.problems.length ? `, ${s.last_run.problems.length} problems` : ''}` : `FAILED: ${clip(s.last_run.error ?? '', 100)}`,
    s.retirement_hold ? describeRetirementHold(s.retirement_hold) : '-',
  ]);
  for (const bad of invalid) rows.push([bad.name, '?', '?', '?', '?', '-', '-', `INVALID: ${clip(bad.problem, 100)}`, '?']);
  context.out(table(['NAME', 'BACKEND', 'ENABLED', 'EVERY', 'CLUSTERS', 'NEXT RUN', 'LAST RUN', 'RESULT', 'RETIREMENTS'], rows));
  for (const s of settings) if (s.retirement_hold) context.note(holdNote(s.setting.name, s.retirement_hold));
}

function holdNote(name: string, hold: RetirementHold): string {
  return `note: ${name} ${describeRetirementHold(hold)}; if those clusters are really gone: fleetview discovery release ${name}`;
}

/** Names are checked before any service is asked: a name that cannot exist is a usage error. */
function checkDiscoveryNames(names: readonly string[]): void {
  const problem = names.map(discoveryNameProblem).find((found) => found !== null);
  if (problem) throw usageError(problem);
}

async function deleteCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(argv, { command: 'discovery delete', usage: deleteUsage, options: {}, positionals: [1, 1] }, context.out);
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const store = await context.services.discoveryStore();
  const clusters = (await store.listSettings()).settings.find((s) => s.setting.name === name)?.clusters ?? 0;
  if (!(await store.deleteSetting(name))) throw notFound(`no discovery named ${JSON.stringify(name)} (fleetview discovery list shows them)`);
  context.out(`discovery ${name} deleted; the ${clusters} clusters it listed retire after their grace period unless another enabled discovery lists them`);
}

function printRun(result: DiscoveryRunResult, context: CommandContext): void {
  if (result.discoveries.length === 0) context.out(`discovery run at ${result.at}: no discovery was due`);
  else {
    context.out(
      table(
        ['DISCOVERY', 'RESULT', 'CLUSTERS', 'CHANGED', 'EVENTS', 'DETAIL'],
        result.discoveries.map((d) => [
          d.discovery,
          d.ok ? 'ok' : 'FAILED',
          String(d.clusters),
          String(d.changed),
          String(d.events),
          d.ok ? [...(d.hold ? [`retirements ${describeRetirementHold(d.hold)}`] : []), ...d.problems.map((p) => clip(p, 120))].join('; ') : clip(d.error ?? '', 200),
        ]),
      ),
    );
  }
  if (result.retired.length > 0) context.out(`retired: ${result.retired.join(', ')}`);
  for (const d of result.discoveries) if (d.hold) context.note(holdNote(d.discovery, d.hold));
}

async function runCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(argv, { command: 'discovery run', usage: runUsage, options: { timeout: { type: 'string' }, json: { type: 'boolean' } }, positionals: [0, 1000] }, context.out);
  if (!parsed) return;
  const timeoutS = secondsOption('discovery run', 'timeout', parsed.values.timeout, 120);
  const names = parsed.positionals;
  checkDiscoveryNames(names);
  if (names.length > 0) {
    const found = await (await context.services.discoveryStore()).makeDue(names, new Date());
    const unknown = names.filter((name) => !found.includes(name));
    if (unknown.length > 0) throw notFound(`no discovery named ${unknown.map((n) => JSON.stringify(n)).join(', ')} (fleetview discovery list shows them)`);
  }
  const client = await context.services.temporal();
  const workflowId = `${context.config.discovery.scheduleId}-cli-${new Date().toISOString()}`;
  const handle = await client.workflow.start(discoveryWorkflowType, { taskQueue: context.config.temporal.taskQueue, workflowId, args: [] });
  context.note(`started discovery run ${workflowId}`);
  let result: DiscoveryRunResult;
  try {
    result = await waitWithProgress(handle.result() as Promise<DiscoveryRunResult>, { what: `discovery run ${workflowId}`, timeoutS, note: context.note });
  } catch (err) {
    if (err instanceof WaitTimeout) {
      throw failure(`discovery run ${workflowId} gave no result within ${timeoutS} s (is a worker polling task queue ${context.config.temporal.taskQueue}?); it goes on: temporal workflow show --workflow-id ${workflowId}`);
    }
    const details = err instanceof WorkflowFailedError ? (err.cause as { details?: unknown[] } | undefined)?.details?.[0] : undefined;
    if (details) {
      const failed = details as DiscoveryRunResult;
      if (parsed.values.json) context.out(JSON.stringify(failed, null, 2));
      else printRun(failed, context);
      throw new CliError(exitCodes.failure, (err as WorkflowFailedError).cause?.message ?? 'the discovery run failed');
    }
    throw err;
  }
  if (parsed.values.json) context.out(JSON.stringify(result, null, 2));
  else printRun(result, context);
}

async function releaseCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(argv, { command: 'discovery release', usage: releaseUsage, options: {}, positionals: [1, 1] }, context.out);
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const released = await (await context.services.discoveryStore()).releaseHold(name, new Date());
  if (released === null) throw notFound(`no discovery named ${JSON.stringify(name)} (fleetview discovery list shows them)`);
  if (released.hold === null && released.released === 0) {
    context.out(`discovery ${name} holds no retirements: nothing to release`);
    return;
  }
  const what = released.hold ? ` (list shrank ${released.hold.previous} → ${released.hold.listed} at ${released.hold.at})` : '';
  context.out(
    `discovery ${name}: released ${released.released} held retirement${released.released === 1 ? '' : 's'}${what}; ` +
      `those clusters are missing from now and retire after their grace period (${released.grace_s} s) unless a discovery lists them again`,
  );
}

const subcommands: Record<string, (argv: string[], context: CommandContext) => Promise<void>> = {
  apply: applyCommand,
  list: listCommand,
  delete: deleteCommand,
  run: runCommand,
  release: releaseCommand,
};

export async function discoveryCommand(argv: string[], context: CommandContext): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw usageError(discoveryUsage);
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    context.out(discoveryUsage);
    return;
  }
  const command = subcommands[sub];
  if (!command) throw usageError(`fleetview discovery: unknown command ${JSON.stringify(sub)}\n\n${discoveryUsage}`);
  try {
    await command(rest, context);
  } catch (err) {
    // Name the subcommand in messages that do not already.
    if (err instanceof CliError && !/^(usage:|fleetview )/.test(err.message)) throw new CliError(err.exitCode, `fleetview discovery ${sub}: ${err.message}`);
    throw err;
  }
}
