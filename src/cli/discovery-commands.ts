import { WorkflowFailedError } from '@temporalio/client';
import { auditedSetting, DiscoverySettingsError, loadDiscoverySettingsFiles, redactedSetting } from '../adapters/discovery/index.js';
import { ControlRequestError, parsePauseRequest, windowActive, type Actor, type ControlWindow } from '../domain/cluster-controls.js';
import { discoveryScopedEvent, type FleetEvent } from '../domain/event-catalogue.js';
import { discoveryNameProblem } from '../domain/ids.js';
import { describeRetirementHold, type RetirementHold } from '../domain/retirement-guard.js';
import { discoveryPriority, discoveryWorkflowType, type DiscoveryRunResult } from '../workflows/discovery-messages.js';
import { parseCommand, secondsOption } from './args.js';
import { publishAudit } from './audit.js';
import type { CommandContext } from './context.js';
import { fanOutToClusters } from './discovery-pause.js';
import { CliError, exitCodes, failure, notFound, usageError } from './errors.js';
import { clip, relativeTime, table } from './format.js';
import { actorName } from './actor.js';
import { InputProblem, parseDurationS, parseUntil } from './durations.js';
import { WaitTimeout, waitWithProgress } from './progress.js';

export const applyUsage = `usage: fleetview discovery apply -f FILE [-f FILE...] [--dry-run] [--actor NAME]

Validates discovery settings and stores them in MongoDB (discovery_settings). A file is YAML or
JSON, with one or more documents (---), each a setting or a list of settings. Every discovery
applied is due at once: the next discovery tick runs it. Nothing is stored when any document
has a problem; each problem names the file, the document and the field. Each discovery created
or changed is a DISCOVERY_APPLIED event (before and after, secrets as [redacted]).

  -f, --file FILE   a settings file (repeatable)
  --dry-run         validate only
  --actor NAME      who applies, in the audit event (default: the OS user)

  name: orders-fleet        # unique: A-Z a-z 0-9 . _ -
  backend: http             # file | http | http_sd
  enabled: true             # default true
  interval: 60              # seconds between runs (fixed rate), default 60
  retirement_guard:         # optional, these are the defaults (docs/concepts.md#the-retirement-guard)
    max_missing_share: 0.5  # hold retirements when a run drops more than this share of the
    min_missing: 3          # discovery's clusters at once, and at least this many
  options:                  # per backend, see docs/reference/discovery-settings.md
    url: http://inventory.internal/discovery

example: fleetview discovery apply -f discoveries.yaml`;

export const listUsage = `usage: fleetview discovery list [--json]

Every stored discovery: backend, interval, clusters it lists, next run, how its last run went,
the retirements its retirement guard holds (release them with fleetview discovery release), and
its pause (fleetview discovery pause).
--json prints the settings too, with header values and URL passwords and query values masked.

example: fleetview discovery list`;

export const deleteUsage = `usage: fleetview discovery delete NAME [--actor NAME]

Deletes a discovery. Its clusters are retired (CLUSTER_RETIRED, their workflows complete) once
their grace period (two intervals of the discovery) has passed, unless another enabled discovery
lists them. A DISCOVERY_DELETED event records it. Exit 3 when there is no such discovery.

  --actor NAME   who deletes, in the audit event (default: the OS user)

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
holds nothing is left as it is. A release is a RETIREMENT_HOLD_RELEASED event with the count.
Exit 3 when there is no such discovery.

  --actor NAME   who releases, in the audit event (default: the OS user)

example: fleetview discovery release orders-fleet`;

export const pauseUsage = `usage: fleetview discovery pause NAME [--until TIME | --for DURATION] --reason TEXT [--actor NAME] [--timeout S]

Pauses every cluster the discovery lists (the pause update of each cluster's workflow: no agent
calls until resumed or until the pause ends), and keeps the pause on the discovery, so the
clusters it lists later are paused when discovery starts them. The clusters are still
discovered, and still retired when no discovery lists them. A DISCOVERY_PAUSED event records it
with the count. Without --until or --for, until fleetview discovery resume.

  --until TIME     when the pause ends: 2026-12-02T18:00:00Z, or HH:MM today (local time)
  --for DURATION   how long: 2h, 30m, 1h30m, 90s (a bare number is seconds)
  --reason TEXT    why (required: one line, at most 200 characters)
  --actor NAME     who pauses (default: the OS user)
  --timeout S      how long each cluster's update may take (default 15)

Exit 1 when a cluster could not be paused (the others are; run it again), 2 on bad input,
3 when there is no such discovery.

example: fleetview discovery pause orders-fleet --for 2h --reason "inventory migration"`;

export const resumeUsage = `usage: fleetview discovery resume NAME [--actor NAME] [--timeout S]

Ends the discovery's pause and resumes every cluster it lists (the resume update of each
cluster's workflow; a cluster paused on its own is resumed too). A DISCOVERY_RESUMED event
records it with the count of clusters resumed.

  --actor NAME   who resumes (default: the OS user)
  --timeout S    how long each cluster's update may take (default 15)

Exit 1 when a cluster could not be resumed (run it again), 3 when there is no such discovery.

example: fleetview discovery resume orders-fleet`;

export const discoveryUsage = `usage: fleetview discovery <apply|list|delete|run|release|pause|resume> ...

  apply -f FILE     validate and store discovery settings (YAML/JSON)
  list              the stored discoveries, their last runs and held retirements
  delete NAME       delete a discovery (its clusters retire after the grace period)
  run [NAME...]     run the due (or named) discoveries now and print the outcome
  release NAME      let the retirements a discovery's guard holds go ahead
  pause NAME        pause every cluster the discovery lists, now and later
  resume NAME       end the discovery's pause, resume its clusters

fleetview discovery <command> --help for more.`;

async function applyCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    {
      command: 'discovery apply',
      usage: applyUsage,
      options: { file: { type: 'string', short: 'f', multiple: true }, 'dry-run': { type: 'boolean' }, actor: { type: 'string' } },
      positionals: [0, 0],
    },
    context.out,
  );
  if (!parsed) return;
  const files = parsed.values.file ?? [];
  if (files.length === 0) throw usageError(`fleetview discovery apply: give at least one -f FILE\n\n${applyUsage}`);
  const actor = cliActor(context, 'discovery apply', parsed.values.actor);
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
  const at = now.toISOString();
  const events: FleetEvent[] = [];
  const applied: string[] = [];
  try {
    for (const setting of settings) {
      const { result, before } = await store.applySettingChange(setting, now);
      context.out(`discovery ${setting.name} (${setting.backend}, every ${setting.interval} s${setting.enabled ? '' : ', disabled'}): ${result}, due now`);
      if (result === 'unchanged') continue;
      applied.push(setting.name);
      events.push(discoveryScopedEvent('DISCOVERY_APPLIED', { actor, discovery: setting.name, before: before && auditedSetting(before), after: auditedSetting(setting) }, at));
    }
  } catch (err) {
    // What was stored before the failure is recorded all the same.
    await publishAudit(context, events, `discovery ${applied.join(', ')} applied`).catch((auditErr: unknown) => context.note((auditErr as Error).message));
    throw err;
  }
  await publishAudit(context, events, `discovery ${applied.join(', ')} applied`);
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
    describePause(s.pause),
    s.retirement_hold ? describeRetirementHold(s.retirement_hold) : '-',
  ]);
  for (const bad of invalid) rows.push([bad.name, '?', '?', '?', '?', '-', '-', `INVALID: ${clip(bad.problem, 100)}`, '?', '?']);
  context.out(table(['NAME', 'BACKEND', 'ENABLED', 'EVERY', 'CLUSTERS', 'NEXT RUN', 'LAST RUN', 'RESULT', 'PAUSED', 'RETIREMENTS'], rows));
  for (const s of settings) if (s.retirement_hold) context.note(holdNote(s.setting.name, s.retirement_hold));
}

/** `until 2026-12-02T18:00:00.000Z by alice: inventory migration`, or `-` when not paused (or the pause has ended). */
export function describePause(pause: ControlWindow | null, nowMs = Date.now()): string {
  if (!windowActive(pause, nowMs)) return '-';
  return `${pause.until === null ? 'until resumed' : `until ${pause.until}`} by ${pause.actor.user}: ${clip(pause.reason, 80)}`;
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
  const parsed = parseCommand(argv, { command: 'discovery delete', usage: deleteUsage, options: { actor: { type: 'string' } }, positionals: [1, 1] }, context.out);
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const actor = cliActor(context, 'discovery delete', parsed.values.actor);
  const store = await context.services.discoveryStore();
  const clusters = (await store.listSettings()).settings.find((s) => s.setting.name === name)?.clusters ?? 0;
  const removed = await store.removeSetting(name);
  if (!removed) throw notFound(`no discovery named ${JSON.stringify(name)} (fleetview discovery list shows them)`);
  context.out(`discovery ${name} deleted; the ${clusters} clusters it listed retire after their grace period unless another enabled discovery lists them`);
  const event = discoveryScopedEvent('DISCOVERY_DELETED', { actor, discovery: name, before: removed.setting && auditedSetting(removed.setting), after: null }, new Date().toISOString());
  await publishAudit(context, [event], `discovery ${name} deleted`);
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
  const handle = await client.workflow.start(discoveryWorkflowType, { taskQueue: context.config.temporal.taskQueue, workflowId, args: [], priority: discoveryPriority });
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
  const parsed = parseCommand(argv, { command: 'discovery release', usage: releaseUsage, options: { actor: { type: 'string' } }, positionals: [1, 1] }, context.out);
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const actor = cliActor(context, 'discovery release', parsed.values.actor);
  const now = new Date();
  const released = await (await context.services.discoveryStore()).releaseHold(name, now);
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
  const event = discoveryScopedEvent('RETIREMENT_HOLD_RELEASED', { actor, discovery: name, released: released.released }, now.toISOString());
  await publishAudit(context, [event], `discovery ${name}: ${released.released} held retirements released`);
}

/** Who acts: `--actor` (else the OS user), with the identity of the CLI's Temporal client, known without connecting. */
function cliActor(context: CommandContext, command: string, raw: string | undefined): Actor {
  return { user: actorName(command, raw), identity: context.services.identity };
}

/** `--for` and `--until` as the pause request takes them; a problem is a usage error naming the flag. */
function windowEnd(command: string, values: { for?: string; until?: string }, nowMs: number): { for_s?: number; until?: string } {
  if (values.for !== undefined && values.until !== undefined) throw usageError(`fleetview ${command}: give --until or --for, not both`);
  try {
    return {
      ...(values.for === undefined ? {} : { for_s: parseDurationS('--for', values.for) }),
      ...(values.until === undefined ? {} : { until: parseUntil(values.until, nowMs) }),
    };
  } catch (err) {
    if (err instanceof InputProblem) throw usageError(`fleetview ${command}: ${err.message}`);
    throw err;
  }
}

/** A pause request's problems as a usage error (exit 2, nothing changed). */
function pauseRequest(command: string, raw: Record<string, unknown>, nowMs: number) {
  try {
    return parsePauseRequest(raw, nowMs);
  } catch (err) {
    // The request's for_s is the command line's --for.
    if (err instanceof ControlRequestError) throw usageError(`fleetview ${command}: ${err.message.replace(/\bfor_s\b/g, '--for')}`);
    throw err;
  }
}

function fanOutSummary(verb: string, outcome: { done: number; unchanged: number; failed: { cluster: string; problem: string }[] }, total: number): string {
  const parts = [`${outcome.done} of ${total} clusters ${verb}`];
  if (outcome.unchanged > 0) parts.push(`${outcome.unchanged} already ${verb}`);
  if (outcome.failed.length > 0) parts.push(`${outcome.failed.length} failed`);
  return parts.join(', ');
}

function fanOutFailure(command: string, verb: string, failed: { cluster: string; problem: string }[]): CliError {
  const shown = failed.slice(0, 20).map((f) => `  ${f.cluster}: ${clip(f.problem, 200)}`);
  if (failed.length > shown.length) shown.push(`  ... and ${failed.length - shown.length} more`);
  return failure(`fleetview ${command}: ${failed.length} clusters could not be ${verb} (run the command again to retry them):\n${shown.join('\n')}`);
}

async function pauseCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    {
      command: 'discovery pause',
      usage: pauseUsage,
      options: { until: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' }, timeout: { type: 'string' }, actor: { type: 'string' } },
      positionals: [1, 1],
    },
    context.out,
  );
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const timeoutS = secondsOption('discovery pause', 'timeout', parsed.values.timeout, 15);
  const actor = cliActor(context, 'discovery pause', parsed.values.actor);
  const now = new Date();
  const end = windowEnd('discovery pause', parsed.values, now.getTime());
  // The same validation as the clusters' pause update, so nothing is refused half-way through.
  const request = pauseRequest('discovery pause', { reason: parsed.values.reason, ...end, actor }, now.getTime());
  const pause: ControlWindow = { since: now.toISOString(), until: request.until, reason: request.reason, actor };
  const store = await context.services.discoveryStore();
  // Stored first: a cluster the discovery starts while the fan-out runs is paused by discovery.
  if ((await store.setPause(name, pause)) === null) throw notFound(`no discovery named ${JSON.stringify(name)} (fleetview discovery list shows them)`);
  const clusters = await store.listedClusters(name);
  const client = await context.services.temporal();
  // One end for every cluster (and the discovery): --for is turned into the time it ends.
  const outcome = await fanOutToClusters(client, clusters, { kind: 'pause', request: { reason: request.reason, until: request.until, actor } }, { timeoutS, note: context.note });
  const summary = fanOutSummary('paused', outcome, clusters.length);
  context.out(`discovery ${name} paused ${pause.until === null ? 'until resumed' : `until ${pause.until}`}: ${summary}; the clusters it lists later are paused when discovery starts them`);
  const event = discoveryScopedEvent('DISCOVERY_PAUSED', { actor, discovery: name, reason: pause.reason, until: pause.until, clusters: outcome.done + outcome.unchanged }, pause.since);
  await publishAudit(context, [event], `discovery ${name} paused (${summary})`);
  if (outcome.failed.length > 0) throw fanOutFailure('discovery pause', 'paused', outcome.failed);
}

async function resumeCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    { command: 'discovery resume', usage: resumeUsage, options: { timeout: { type: 'string' }, actor: { type: 'string' } }, positionals: [1, 1] },
    context.out,
  );
  if (!parsed) return;
  const name = parsed.positionals[0]!;
  checkDiscoveryNames([name]);
  const timeoutS = secondsOption('discovery resume', 'timeout', parsed.values.timeout, 15);
  const actor: Actor = cliActor(context, 'discovery resume', parsed.values.actor);
  const now = new Date();
  const store = await context.services.discoveryStore();
  // Cleared first: discovery stops pausing the clusters it starts before they are resumed.
  const cleared = await store.setPause(name, null);
  if (cleared === null) throw notFound(`no discovery named ${JSON.stringify(name)} (fleetview discovery list shows them)`);
  const clusters = await store.listedClusters(name);
  const client = await context.services.temporal();
  const outcome = await fanOutToClusters(client, clusters, { kind: 'resume', request: { actor } }, { timeoutS, note: context.note });
  const summary = fanOutSummary('resumed', outcome, clusters.length);
  context.out(`discovery ${name} resumed${windowActive(cleared.before, now.getTime()) ? '' : ' (it was not paused)'}: ${summary}`);
  const event = discoveryScopedEvent(
    'DISCOVERY_RESUMED',
    { actor, discovery: name, reason: cleared.before?.reason ?? '', until: cleared.before?.until ?? null, clusters: outcome.done },
    now.toISOString(),
  );
  // Nothing was paused and nothing resumed: no change to record.
  if (cleared.before !== null || outcome.done > 0) await publishAudit(context, [event], `discovery ${name} resumed (${summary})`);
  if (outcome.failed.length > 0) throw fanOutFailure('discovery resume', 'resumed', outcome.failed);
}

const subcommands: Record<string, (argv: string[], context: CommandContext) => Promise<void>> = {
  apply: applyCommand,
  list: listCommand,
  delete: deleteCommand,
  run: runCommand,
  release: releaseCommand,
  pause: pauseCommand,
  resume: resumeCommand,
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
