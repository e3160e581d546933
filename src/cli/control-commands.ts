/**
 * The operator's controls of running clusters: `fleetview cluster set|unset|pause|resume|
 * maintenance|show|list` and `fleetview settings apply`. Every request is checked here with the
 * same parsers the workflow's validators run (src/domain/cluster-controls.ts), so bad input is
 * refused naming the flag and value before anything is sent; then it goes to the cluster's
 * workflow as an update, and the answer is the state after it.
 */
import {
  isGrpcDeadlineError,
  ApplicationFailure,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  ControlRequestError,
  maxWindowS,
  parseDefaultsRequest,
  parseMaintenanceRequest,
  parsePauseRequest,
  parseSettingsRequest,
  type Actor,
  type ControlledSetting,
} from '../domain/cluster-controls.js';
import { clusterWorkflowId } from '../domain/ids.js';
import { quoted } from '../domain/text.js';
import { forEachLimited } from '../for-each-limited.js';
import {
  clusterRefreshWorkflowType,
  defaultsUpdate,
  maintenanceUpdate,
  pauseUpdate,
  resumeUpdate,
  settingsUpdate,
  type ControlsResult,
} from '../workflows/messages.js';
import { actorName, actorOf, actorOptionHelp } from './actor.js';
import { countOption, parseCommand, secondsOption } from './args.js';
import { checkClusterId, clusterListCommand, clusterListUsage, clusterShowCommand, clusterShowUsage, configDefaults, missingCluster } from './cluster-commands.js';
import type { CommandContext } from './context.js';
import { settingsTable, windowText } from './controls-format.js';
import { InputProblem, formatSeconds, formatSetting, parseDurationS, parseUntil, parseSettingFlag, settingFlags } from './durations.js';
import { CliError, exitCodes, failure, usageError } from './errors.js';
import { clip } from './format.js';
import { WaitTimeout, waitWithProgress } from './progress.js';

const timeoutHelp = `--timeout SECONDS  how long to wait for the workflow's answer (default 30)`;
const jsonHelp = `--json             print the state after the change as JSON`;

export const clusterSetUsage = `usage: fleetview cluster set CLUSTER [--interval D] [--agent-timeout D] [--node-grace D] [--cluster-grace D] [--actor NAME] [--timeout SECONDS] [--json]

Sets the operator's value of one or more settings of a running cluster (the settings update): it
wins over the discovery's value and the default, takes effect at the next refresh slot (a shorter
interval at once), and is kept through worker and workflow restarts. Prints every setting in
effect and where it came from. D is a duration: 90s, 5m, 1h30m, 2d (units ms, s, m, h, d).
  --interval D       seconds between refreshes, 1s to 1d; a bare number is seconds
  --agent-timeout D  budget of each agent call, 100ms to 10m; a bare number is milliseconds
  --node-grace D     how long a node may be missing from discovery before it retires, 0s to 30d; bare: seconds
  --cluster-grace D  how long the cluster may be missing before it retires, 0s to 30d; bare: seconds
  ${actorOptionHelp}
  ${timeoutHelp}
  ${jsonHelp}
Exit 2 when a value is refused (nothing changes), 3 when the cluster has no running workflow.

examples: fleetview cluster set rs0 --interval 60s
          fleetview cluster set kafka-big --interval 5m --agent-timeout 20s --actor alice`;

export const clusterUnsetUsage = `usage: fleetview cluster unset CLUSTER [--interval] [--agent-timeout] [--node-grace] [--cluster-grace] [--actor NAME] [--timeout SECONDS] [--json]

Drops the operator's value of the named settings: each goes back to the discovery's value, else
the default. Prints every setting in effect and where it came from.
  ${actorOptionHelp}
  ${timeoutHelp}
  ${jsonHelp}

example: fleetview cluster unset rs0 --interval`;

export const clusterPauseUsage = `usage: fleetview cluster pause CLUSTER --reason TEXT [--until TIME | --for D] [--actor NAME] [--timeout SECONDS] [--json]

Stops polling the cluster (no agent calls) until fleetview cluster resume, or until the time
passes. It is still discovered and still retired by discovery; its first refresh afterwards
reports what changed meanwhile.
  --reason TEXT      why: one line, at most 200 characters (required)
  --until TIME       an ISO 8601 time: 2026-12-02T18:00:00Z; without an offset (2026-12-02T18:00)
                     this machine's local time; or HH:MM, today in local time (refused once that
                     time has passed today, or when the clock skips or repeats it)
  --for D            a duration from now: 30m, 2h, 1d (a bare number is seconds), at most 366d
  ${actorOptionHelp}
  ${timeoutHelp}
  ${jsonHelp}

examples: fleetview cluster pause rs0 --for 2h --reason "disk replacement"
          fleetview cluster pause rs0 --until 18:00 --reason "vendor upgrade"`;

export const clusterResumeUsage = `usage: fleetview cluster resume CLUSTER [--actor NAME] [--timeout SECONDS] [--json]

Ends the cluster's pause: polling starts again at once. Resuming a cluster that is not paused
changes nothing (exit 0, "unchanged").
  ${actorOptionHelp}
  ${timeoutHelp}
  ${jsonHelp}

example: fleetview cluster resume rs0`;

export const clusterMaintenanceUsage = `usage: fleetview cluster maintenance CLUSTER (--for D | --until TIME) --reason TEXT [--actor NAME] [--timeout SECONDS] [--json]
       fleetview cluster maintenance CLUSTER --end [--actor NAME]

A maintenance window: polling goes on, and every event of the cluster until the window ends is
marked (the event's maintenance field and the fleetview-maintenance Kafka header), so alerting
can silence it. The window ends by itself; --end ends it now.
  --for D, --until TIME, --reason TEXT   as for fleetview cluster pause (an end is required)
  --end              end the current window now
  ${actorOptionHelp}
  ${timeoutHelp}
  ${jsonHelp}

examples: fleetview cluster maintenance rs0 --for 2h --reason "rolling restart"
          fleetview cluster maintenance rs0 --end`;

export const clusterUsage = `usage: fleetview cluster <subcommand> ...

subcommands:
  show CLUSTER                   the view, with pause, maintenance and each setting and its source
  list                           every cluster, with PAUSED and MAINTENANCE columns
  set CLUSTER --interval 60s     the operator's value of settings (--agent-timeout, --node-grace, --cluster-grace)
  unset CLUSTER --interval       drop the operator's value: back to the discovery's, else the default
  pause CLUSTER --reason TEXT [--until TIME | --for D]
                                 stop polling until resumed or until the time
  resume CLUSTER                 poll again
  maintenance CLUSTER --for D --reason TEXT
                                 mark the cluster's events until the window ends (--end: now)

Every change names who made it (--actor NAME, default the OS user) in an audit event.
fleetview cluster <subcommand> --help explains one.`;

export const settingsUsage = `usage: fleetview settings apply [--dry-run] [--actor NAME] [--timeout SECONDS] [--concurrency N] [--json]

Sends the per-cluster defaults of this configuration to every running cluster workflow of its
task queue (FLEETVIEW_TASK_QUEUE; the defaults update), which takes them as its default layer at once: the refresh interval
(FLEETVIEW_REFRESH_INTERVAL_S) and the agent timeout (FLEETVIEW_AGENT_TIMEOUT_MS). A changed
default reaches running clusters only this way (a cluster started later takes the worker's
configuration at its start); an operator's or a discovery's value still wins over it. Run it with
the same FLEETVIEW_* settings as the workers. Each answer waited for up to
--timeout seconds (default 30); progress on stderr. Exit 1 when any cluster failed.
  --dry-run          list the clusters and the defaults, send nothing
  --concurrency N    clusters at a time (default 8)
  ${actorOptionHelp}
  --json             print the outcome of every cluster as JSON

example: FLEETVIEW_REFRESH_INTERVAL_S=30 fleetview settings apply`;

const controlOptions = { actor: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } } as const;

/** Flags by the request field the domain's problems start with. */
const flagOfField: Record<string, string> = { reason: '--reason', until: '--until', for_s: '--for', 'actor.user': '--actor' };

/** A request checked by the domain's parser: its problems, named as the command line names them, are a usage error. */
function checked<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ControlRequestError) {
      const named = err.problems.map((problem) => problem.replace(/^(reason|until|for_s|actor\.user)\b/, (field) => flagOfField[field] ?? field));
      throw usageError(`fleetview ${command}: ${named.join('; ')}; nothing was sent`);
    }
    throw err;
  }
}

function fromInput<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InputProblem) throw usageError(`fleetview ${command}: ${err.message}; nothing was sent`);
    throw err;
  }
}

/** Waits at most `timeoutS` for one update, the gRPC calls bounded too so none outlives the command. */
async function bounded<T>(client: Client, timeoutS: number, work: () => Promise<T>, progress?: { what: string; note: (text: string) => void }): Promise<T> {
  const call = client.withDeadline(Date.now() + timeoutS * 1000 + 500, work);
  return waitWithProgress(call, { what: progress?.what ?? '', timeoutS, note: progress?.note ?? (() => undefined) });
}

function timedOut(err: unknown): boolean {
  return err instanceof WaitTimeout || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err);
}

/** The message of a failure the workflow gave, or null. */
function refusal(err: unknown): string | null {
  if (!(err instanceof WorkflowUpdateFailedError)) return null;
  return err.cause instanceof ApplicationFailure ? err.cause.message : null;
}

/** Sends one update to a cluster's workflow and maps what can go wrong to exit codes. */
async function sendUpdate(
  context: CommandContext,
  command: string,
  clusterId: string,
  timeoutS: number,
  send: (handle: WorkflowHandle, client: Client) => Promise<ControlsResult>,
): Promise<ControlsResult> {
  const client = await context.services.temporal();
  const workflowId = clusterWorkflowId(clusterId);
  try {
    return await bounded(client, timeoutS, () => send(client.workflow.getHandle(workflowId), client), { what: `${workflowId} to answer`, note: context.note });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /already completed/i.test((err as Error).message)) {
      const missing = await missingCluster(context, clusterId);
      throw new CliError(missing.exitCode, `fleetview ${command}: ${missing.message}`);
    }
    const refused = refusal(err);
    if (refused !== null) throw usageError(`fleetview ${command}: ${clusterId} refused it: ${refused}; nothing was changed`);
    if (err instanceof WorkflowUpdateFailedError) throw failure(`fleetview ${command}: the update of ${clusterId} failed: ${err.cause?.message ?? err.message}`);
    if (timedOut(err)) {
      throw failure(
        `fleetview ${command}: no answer from ${workflowId} within ${timeoutS} s: is a worker polling task queue ${context.config.temporal.taskQueue}? (the change may still apply when one answers: fleetview cluster show ${clusterId})`,
      );
    }
    throw err;
  }
}

function printResult(context: CommandContext, result: ControlsResult, json: boolean, summary: string, marks: Partial<Record<ControlledSetting, string>> = {}): void {
  if (json) {
    context.out(JSON.stringify(result, null, 2));
    return;
  }
  context.out(`${result.cluster_id}: ${summary}${result.changed ? '' : ' (unchanged: it was so already)'}; revision ${result.revision}`);
  context.out(settingsTable(result, marks));
  const now = Date.now();
  context.out(`paused       ${windowText(result.pause, now, 'until resumed')}`);
  context.out(`maintenance  ${windowText(result.maintenance, now, 'until ended')}`);
  // The change holds; only its audit event or its copy in the store is late.
  if (!result.recorded) context.note(`note: the change is in effect; its audit event or its stored copy was not written yet (Kafka or MongoDB slow) and will be`);
}

interface ControlCommand {
  usage: string;
  run(argv: string[], context: CommandContext): Promise<void>;
}

/** The parts every control command shares: one cluster, --actor, --timeout, --json. */
function commonParts(command: string, clusterId: string, values: { actor?: string; timeout?: string }): { timeoutS: number; user: string } {
  checkClusterId(command, clusterId);
  return { timeoutS: secondsOption(command, 'timeout', values.timeout, 30), user: actorName(command, values.actor) };
}

function withActor(user: string): { actor: Actor } {
  // The identity is filled in once the client is connected; validation only needs the user.
  return { actor: { user, identity: null } };
}

const setCommand: ControlCommand = {
  usage: clusterSetUsage,
  async run(argv, context) {
    const command = 'cluster set';
    const options = { ...controlOptions, ...Object.fromEntries(settingFlags.map(({ flag }) => [flag, { type: 'string' as const }])) };
    const parsed = parseCommand(argv, { command, usage: clusterSetUsage, options, positionals: [1, 1] }, context.out);
    if (!parsed) return;
    const clusterId = parsed.positionals[0]!;
    const { timeoutS, user } = commonParts(command, clusterId, parsed.values);
    const set: Partial<Record<ControlledSetting, number>> = {};
    for (const flag of settingFlags) {
      const raw = (parsed.values as Record<string, string | undefined>)[flag.flag];
      if (raw !== undefined) set[flag.setting] = fromInput(command, () => parseSettingFlag(flag, raw));
    }
    if (Object.keys(set).length === 0) throw usageError(`fleetview ${command}: nothing to set: give --interval, --agent-timeout, --node-grace or --cluster-grace\n\n${clusterSetUsage}`);
    checked(command, () => parseSettingsRequest({ set, ...withActor(user) }));
    const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) => handle.executeUpdate(settingsUpdate, { args: [{ set, actor: actorOf(user, client) }] }));
    const marks = Object.fromEntries(Object.entries(set).map(([setting, value]) => [setting, `<- set to ${formatSetting(setting as ControlledSetting, value)}`]));
    printResult(context, result, parsed.values.json === true, `settings ${result.changed ? 'changed' : 'set'}`, marks);
  },
};

const unsetCommand: ControlCommand = {
  usage: clusterUnsetUsage,
  async run(argv, context) {
    const command = 'cluster unset';
    const options = { ...controlOptions, ...Object.fromEntries(settingFlags.map(({ flag }) => [flag, { type: 'boolean' as const }])) };
    const parsed = parseCommand(argv, { command, usage: clusterUnsetUsage, options, positionals: [1, 1] }, context.out);
    if (!parsed) return;
    const clusterId = parsed.positionals[0]!;
    const { timeoutS, user } = commonParts(command, clusterId, parsed.values);
    const unset = settingFlags.filter(({ flag }) => (parsed.values as Record<string, unknown>)[flag] === true).map(({ setting }) => setting);
    if (unset.length === 0) throw usageError(`fleetview ${command}: nothing to unset: give --interval, --agent-timeout, --node-grace or --cluster-grace\n\n${clusterUnsetUsage}`);
    checked(command, () => parseSettingsRequest({ unset, ...withActor(user) }));
    const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) => handle.executeUpdate(settingsUpdate, { args: [{ unset, actor: actorOf(user, client) }] }));
    printResult(context, result, parsed.values.json === true, `settings ${result.changed ? 'changed' : 'unset'}`, Object.fromEntries(unset.map((setting) => [setting, '<- unset'])));
  },
};

/** The end of a window from --until or --for, as the update takes it (for_s, or until in UTC). */
function windowEnd(command: string, values: { until?: string; for?: string }): { until?: string; for_s?: number } {
  if (values.until !== undefined && values.for !== undefined) throw usageError(`fleetview ${command}: give --until or --for, not both`);
  if (values.for !== undefined) {
    const raw = values.for;
    const forS = fromInput(command, () => parseDurationS('--for', raw));
    if (forS < 1 || forS > maxWindowS) throw usageError(`fleetview ${command}: --for must be from 1s to ${formatSeconds(maxWindowS)}, got ${quoted(raw)}; nothing was sent`);
    return { for_s: forS };
  }
  if (values.until !== undefined) {
    const raw = values.until;
    return { until: fromInput(command, () => parseUntil(raw, Date.now())) };
  }
  return {};
}

const windowOptions = { ...controlOptions, reason: { type: 'string' }, until: { type: 'string' }, for: { type: 'string' } } as const;

const pauseCommand: ControlCommand = {
  usage: clusterPauseUsage,
  async run(argv, context) {
    const command = 'cluster pause';
    const parsed = parseCommand(argv, { command, usage: clusterPauseUsage, options: windowOptions, positionals: [1, 1] }, context.out);
    if (!parsed) return;
    const clusterId = parsed.positionals[0]!;
    const { timeoutS, user } = commonParts(command, clusterId, parsed.values);
    const end = windowEnd(command, parsed.values);
    const reason = parsed.values.reason;
    checked(command, () => parsePauseRequest({ ...end, reason, ...withActor(user) }, Date.now()));
    const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) =>
      handle.executeUpdate(pauseUpdate, { args: [{ ...end, reason: reason!, actor: actorOf(user, client) }] }),
    );
    printResult(context, result, parsed.values.json === true, result.pause?.until ? `paused until ${result.pause.until}` : 'paused until resumed');
  },
};

const resumeCommand: ControlCommand = {
  usage: clusterResumeUsage,
  async run(argv, context) {
    const command = 'cluster resume';
    const parsed = parseCommand(argv, { command, usage: clusterResumeUsage, options: controlOptions, positionals: [1, 1] }, context.out);
    if (!parsed) return;
    const clusterId = parsed.positionals[0]!;
    const { timeoutS, user } = commonParts(command, clusterId, parsed.values);
    const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) => handle.executeUpdate(resumeUpdate, { args: [{ actor: actorOf(user, client) }] }));
    printResult(context, result, parsed.values.json === true, result.changed ? 'resumed: polling again' : 'not paused');
  },
};

const maintenanceCommand: ControlCommand = {
  usage: clusterMaintenanceUsage,
  async run(argv, context) {
    const command = 'cluster maintenance';
    const parsed = parseCommand(argv, { command, usage: clusterMaintenanceUsage, options: { ...windowOptions, end: { type: 'boolean' } }, positionals: [1, 1] }, context.out);
    if (!parsed) return;
    const clusterId = parsed.positionals[0]!;
    const { timeoutS, user } = commonParts(command, clusterId, parsed.values);
    if (parsed.values.end) {
      const extra = (['until', 'for', 'reason'] as const).find((flag) => parsed.values[flag] !== undefined);
      if (extra) throw usageError(`fleetview ${command}: --end takes no --${extra}`);
      const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) => handle.executeUpdate(maintenanceUpdate, { args: [{ end: true, actor: actorOf(user, client) }] }));
      printResult(context, result, parsed.values.json === true, result.changed ? 'maintenance ended' : 'not in maintenance');
      return;
    }
    const end = windowEnd(command, parsed.values);
    if (end.for_s === undefined && end.until === undefined) throw usageError(`fleetview ${command}: a maintenance window needs its end: --for D or --until TIME (or --end to end the current one)\n\n${clusterMaintenanceUsage}`);
    const reason = parsed.values.reason;
    checked(command, () => parseMaintenanceRequest({ ...end, reason, ...withActor(user) }, Date.now()));
    const result = await sendUpdate(context, command, clusterId, timeoutS, (handle, client) =>
      handle.executeUpdate(maintenanceUpdate, { args: [{ ...end, reason: reason!, actor: actorOf(user, client) }] }),
    );
    printResult(context, result, parsed.values.json === true, `in maintenance until ${result.maintenance?.until ?? '?'}`);
  },
};

const subcommands: Record<string, ControlCommand> = {
  show: { usage: clusterShowUsage, run: clusterShowCommand },
  list: { usage: clusterListUsage, run: clusterListCommand },
  set: setCommand,
  unset: unsetCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  maintenance: maintenanceCommand,
};

export async function clusterCommand(argv: string[], context: CommandContext): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    context.out(clusterUsage);
    return;
  }
  const sub = name === undefined ? undefined : subcommands[name];
  if (!sub) throw usageError(`${name === undefined ? 'fleetview cluster: missing subcommand' : `fleetview cluster: unknown subcommand ${quoted(name)}`}\n\n${clusterUsage}`);
  await sub.run(rest, context);
}

interface ApplyOutcome {
  cluster_id: string;
  outcome: 'changed' | 'unchanged' | 'failed' | 'gone';
  error?: string;
}

async function settingsApply(argv: string[], context: CommandContext): Promise<void> {
  const command = 'settings apply';
  const parsed = parseCommand(
    argv,
    { command, usage: settingsUsage, options: { 'dry-run': { type: 'boolean' }, concurrency: { type: 'string' }, ...controlOptions }, positionals: [0, 0] },
    context.out,
  );
  if (!parsed) return;
  const timeoutS = secondsOption(command, 'timeout', parsed.values.timeout, 30);
  const concurrency = Math.max(1, countOption(command, 'concurrency', parsed.values.concurrency, 8));
  const user = actorName(command, parsed.values.actor);
  const defaults = configDefaults(context.config);
  checked(command, () => parseDefaultsRequest({ defaults, ...withActor(user) }));
  const described = Object.entries(defaults)
    .map(([setting, value]) => `${setting} ${formatSetting(setting as ControlledSetting, value)}`)
    .join(', ');

  const client = await context.services.temporal();
  const prefix = clusterWorkflowId('');
  const clusterIds: string[] = [];
  // Visibility lags a moment behind starts: a cluster started just now may be missed, and takes
  // the worker's configuration anyway. Only this configuration's task queue: another fleetview
  // sharing the namespace has its own workers and its own defaults.
  const query = `WorkflowType = '${clusterRefreshWorkflowType}' AND ExecutionStatus = 'Running' AND TaskQueue = '${context.config.temporal.taskQueue.replace(/'/g, "\\'")}'`;
  await client.withDeadline(Date.now() + timeoutS * 1000, async () => {
    for await (const execution of client.workflow.list({ query, pageSize: 1000 })) {
      if (execution.workflowId.startsWith(prefix)) clusterIds.push(execution.workflowId.slice(prefix.length));
    }
  });
  clusterIds.sort();
  if (parsed.values['dry-run']) {
    if (parsed.values.json) context.out(JSON.stringify({ dry_run: true, defaults, clusters: clusterIds }, null, 2));
    else context.out(`would send the defaults (${described}) to ${clusterIds.length} running clusters${clusterIds.length > 0 ? `:\n  ${clusterIds.join('\n  ')}` : ''}\nnothing was sent (--dry-run)`);
    return;
  }
  context.note(`sending the defaults (${described}) to ${clusterIds.length} running clusters, ${concurrency} at a time...`);
  const actor = actorOf(user, client);
  const outcomes: ApplyOutcome[] = [];
  const started = Date.now();
  const ticker = setInterval(() => context.note(`... ${outcomes.length} of ${clusterIds.length} answered (${Math.round((Date.now() - started) / 1000)} s)`), 2000);
  try {
    await forEachLimited(clusterIds, concurrency, async (clusterId) => {
      try {
        const result = await bounded(client, timeoutS, () => client.workflow.getHandle(clusterWorkflowId(clusterId)).executeUpdate(defaultsUpdate, { args: [{ defaults, actor }] }));
        outcomes.push({ cluster_id: clusterId, outcome: result.changed ? 'changed' : 'unchanged' });
      } catch (err) {
        // Retired between the listing and the update: nothing to apply.
        if (err instanceof WorkflowNotFoundError || /already completed/i.test((err as Error).message)) outcomes.push({ cluster_id: clusterId, outcome: 'gone' });
        else {
          const message = refusal(err) ?? (timedOut(err) ? `no answer within ${timeoutS} s` : err instanceof CliError ? err.message.split('\n')[0]! : clip((err as Error).message, 200));
          outcomes.push({ cluster_id: clusterId, outcome: 'failed', error: message });
        }
      }
    });
  } finally {
    clearInterval(ticker);
  }
  outcomes.sort((a, b) => (a.cluster_id < b.cluster_id ? -1 : 1));
  const count = (outcome: ApplyOutcome['outcome']) => outcomes.filter((entry) => entry.outcome === outcome).length;
  const failed = outcomes.filter((entry) => entry.outcome === 'failed');
  if (parsed.values.json) context.out(JSON.stringify({ defaults, clusters: outcomes }, null, 2));
  else {
    for (const entry of failed) context.out(`FAILED  ${entry.cluster_id}: ${entry.error}`);
    context.out(`defaults (${described}) sent to ${clusterIds.length} running clusters: ${count('changed')} changed, ${count('unchanged')} unchanged, ${failed.length} failed${count('gone') > 0 ? `, ${count('gone')} ended meanwhile` : ''}`);
  }
  if (failed.length > 0) throw new CliError(exitCodes.failure, `fleetview ${command}: ${failed.length} of ${clusterIds.length} clusters did not take the defaults; run it again to retry them`);
}

export async function settingsCommand(argv: string[], context: CommandContext): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    context.out(settingsUsage);
    return;
  }
  if (name !== 'apply') throw usageError(`${name === undefined ? 'fleetview settings: missing subcommand' : `fleetview settings: unknown subcommand ${quoted(name)}`}\n\n${settingsUsage}`);
  await settingsApply(rest, context);
}
