/**
 * One chaos run: its own services, the sim, a worker, discovery over the sim, the script of
 * changes running throughout, the faults one after another with recovery in between, then the
 * oracle over the whole topic. Every phase is bounded; everything started is undone through the
 * Cleanup stack, also on failure and on SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openClients } from '../../src/adapters/clients.js';
import { loadConfig } from '../../src/config.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import type { Cleanup } from '../fleet/cleanup.js';
import { runCliOrThrow } from '../fleet/fleetview-run.js';
import { delay, startedGroups } from '../fleet/processes.js';
import { gitCommit, loadAverage, machine, versions, type Machine, type Versions } from '../fleet/services.js';
import { startSimProcess } from '../fleet/sim-process.js';
import { terminateTaskQueueWorkflows } from '../fleet/terminate.js';
import { percentile, round } from '../fleet/stats.js';
import { useClusterProfile } from './cluster-profile.js';
import { agentFaultModes, faultLabels, injectFault, type FaultName, type FaultRecord, type FaultSettings, type ServicesMode } from './faults.js';
import { judge, type Finding, type RowCounts, type Window } from './oracle.js';
import { startOwnServices } from './own-services.js';
import { measureRecovery, queryViews, type Recovery } from './recovery.js';
import { ChaosScript, simAdmin, type ScriptedChange } from './script.js';
import { LiveTopic, readWholeTopic } from './topic.js';
import { Workers } from './workers.js';

export interface ChaosOptions extends FaultSettings {
  /** own: a dev server, Kafka and store of the run's own; cluster: the shared cluster profile of scripts/services.sh. */
  temporal: ServicesMode;
  /** Refreshes back within this long after a history or broker kill (from the kill and from the restart), else the run is not OK. */
  recoveryGoalS: number;
  clusters: number;
  nodes: number;
  faults: FaultName[];
  tickS: number;
  agentTimeoutMs: number;
  baselineS: number;
  settleS: number;
}

export interface ChaosRow extends RowCounts {
  name: string;
  label: string;
  /** Seconds from the run's start (discovery applied) to the row's window start and end. */
  window_s: [number, number];
  /** The fault itself (not for onboarding and baseline): start and end, seconds from the run's start, and how long. */
  fault_s: [number, number] | null;
  fault_duration_s: number | null;
  recovery: Recovery | null;
  /** For a process killed and started again later (history-kill, broker-kill): every cluster refreshed again, from the kill. */
  recovery_after_kill: Recovery | null;
  /** Changes the script made during the fault and the recovery after it, and how long their events took (last event). */
  scripted_during_fault: number;
  detection_p50_s: number | null;
  detection_max_s: number | null;
  details: Record<string, unknown>;
}

export interface ChaosResults {
  benchmark: 'chaos';
  date: string;
  command: string;
  git: ReturnType<typeof gitCommit>;
  machine: Machine & { load_average_at_end: number[] };
  versions: Versions | null;
  settings: ChaosOptions & { dwell_s: number; gate_timeout_s: number; names: Record<string, string> };
  mapping: { change: string; events: string }[];
  method: Record<string, string>;
  onboarding_s: number | null;
  rows: ChaosRow[];
  totals: RowCounts & {
    id_order_violations: number;
    id_gaps: number;
    unreadable: number;
    messages: number;
    unique_events: number;
    expected_keys: number;
    matched_keys: number;
    clusters_stuck: number;
    final_state_mismatches: number;
    cluster_workflows_running_at_end: number | null;
  };
  examples: Record<string, Finding[]>;
  /** Faults whose refreshes were not back within the recovery goal (history-kill and broker-kill, from the kill and from the restart). */
  recovery_goal_misses: string[];
  stuck: { cluster: string; why: string }[];
  final_state_mismatches: { cluster: string; expected: unknown; seen: unknown }[];
  changes_by_kind: Record<string, number>;
  /** Every process group the run started (sim, workers), and the services' folder: all gone after the run. */
  process_groups_started: { name: string; pgid: number }[];
  services_dir: string;
  errors: string[];
  ok: boolean;
  duration_s: number;
}

/** How each scripted change maps to events (model.ts computes the exact keys). */
export const changeMapping: ChaosResults['mapping'] = [
  { change: 'onboarding (discovery lists the cluster)', events: 'CLUSTER_NEW (discovery); per node AGENT_NEW UP, AGENT_INFO_NEW, NODE_NEW, SHARD_ALLOCATION_NEW per shard it holds; CLUSTER_STATUS_CHANGED null>HEALTHY' },
  { change: 'agent down (connection closed)', events: 'AGENT_DOWN <node> UP>AGENT_DOWN (NODE_DOWN>AGENT_DOWN if its datastore was down); SHARD_PRIMARY_LOST for shards it led alone; CLUSTER_STATUS_CHANGED when the derived status changes' },
  { change: 'agent up again', events: 'AGENT_UP <node> AGENT_DOWN>UP; SHARD_ALLOCATION_CHANGED for roles that moved while it was down; SHARD_PRIMARY_CHANGED for shards that get their primary back; CLUSTER_STATUS_CHANGED when the status changes' },
  { change: 'datastore down (503 with a Replicante error body)', events: 'NODE_DOWN <node> UP>NODE_DOWN; primaries and status as for agent down' },
  { change: 'datastore up again', events: 'NODE_UP <node> NODE_DOWN>UP; roles, primaries and status as for agent up' },
  { change: 'failover to <node>', events: 'SHARD_ALLOCATION_CHANGED secondary>primary on <node> and primary>secondary on the old primary (for every shard that moved, if these nodes are UP); SHARD_PRIMARY_CHANGED per shard whose UP primary changes; CLUSTER_STATUS_CHANGED when a shard without a primary gets one' },
  { change: 'node joins (sim adds it; discovery lists it)', events: 'CLUSTER_CHANGED +<node> (discovery); AGENT_NEW UP, AGENT_INFO_NEW, NODE_NEW, SHARD_ALLOCATION_NEW secondary per shard it joins (replica set and ensemble members join the shard; a Kafka broker holds none)' },
  { change: 'node leaves (its agent goes down first, a change of its own; then the sim removes it)', events: 'CLUSTER_CHANGED -<node> (discovery); the refresh that gets the new record: CLUSTER_STATUS_CHANGED if it no longer counts; after the grace period (two discovery intervals): NODE_RETIRED <node>' },
  { change: `agent fault: ${agentFaultModes.join(', ')} (agent info hangs past the timeout, is reset, answers 500, answers a body that is not JSON, answers 10 MiB)`, events: 'AGENT_DOWN <node> UP>AGENT_DOWN (agent info fails, nothing else is called), and AGENT_UP when it ends; primaries and status as for agent down/up; the reason names the cause (status_and_reason in the agent-faults row)' },
  { change: 'discovery endpoint failing (500)', events: 'none: clusters keep their last records, nothing retires' },
  { change: 'worker, Temporal, Kafka, store faults; a history process or a Kafka broker of the cluster profile killed', events: 'none of their own: the changes scripted meanwhile arrive once each, late' },
];

export async function runChaos(root: string, options: ChaosOptions, cleanup: Cleanup, logDir: string, log: (line: string) => void, command: string): Promise<ChaosResults> {
  const startedAt = new Date();
  const machineAtStart = machine();
  const errors: string[] = [];
  // On the shared cluster profile every name is the run's own (as bench:fleet's), so nothing of another run or user is read, counted or deleted.
  const tag = `chaos-${randomBytes(3).toString('hex')}`;
  const names =
    options.temporal === 'cluster'
      ? { taskQueue: tag, database: tag.replace(/-/g, '_'), topic: `${tag}.events`, scheduleId: `${tag}-discovery`, discovery: tag, simIdPrefix: `${tag}-` }
      : { taskQueue: 'chaos', database: 'chaos', topic: 'chaos.events', scheduleId: 'chaos-discovery', discovery: 'chaos-sim', simIdPrefix: 'chaos-' };
  const dwellMs = 2 * options.intervalS * 1000;
  const gateTimeoutMs = Math.max(240_000, 30 * options.intervalS * 1000);
  const say = log;

  const services = options.temporal === 'cluster' ? await useClusterProfile(root, say) : await startOwnServices(root, say);
  cleanup.add(
    services.kind === 'cluster' ? 'starting again the cluster-profile processes the run killed (the profile is left running)' : 'stopping the chaos services and deleting their folders',
    () => services.dispose(),
  );
  if (services.kind === 'cluster') say(`names of this run: task queue, discovery ${tag}, topic ${names.topic}, database ${names.database}, clusters ${names.simIdPrefix}*`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...services.clientEnv,
    FLEETVIEW_TASK_QUEUE: names.taskQueue,
    FLEETVIEW_MONGODB_DATABASE: names.database,
    FLEETVIEW_EVENTS_TOPIC: names.topic,
    FLEETVIEW_DISCOVERY_SCHEDULE_ID: names.scheduleId,
    FLEETVIEW_DISCOVERY_TICK_S: String(options.tickS),
    FLEETVIEW_REFRESH_INTERVAL_S: String(options.intervalS),
    FLEETVIEW_AGENT_TIMEOUT_MS: String(options.agentTimeoutMs),
    FLEETVIEW_LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);

  const sim = await startSimProcess(root, logDir, options.clusters, options.nodes, names.simIdPrefix);
  cleanup.add('stopping the sim', () => sim.group.stop(10_000));
  const admin = simAdmin(sim.url);
  say(`sim ready at ${sim.url}: ${sim.clusterIds.length} clusters, ${sim.nodes.length} nodes`);

  const clients = openClients(config);
  cleanup.add('closing the run\'s clients', () => clients.close());
  const client = await clients.temporal();
  const store = await clients.clusterStore();
  if (services.kind === 'cluster') {
    // Undone after the workers stopped and the workflows ended: the run's database and topic, nothing else of the shared services.
    cleanup.add(`dropping the run's database ${names.database} and topic ${names.topic}`, async () => {
      const problems: string[] = [];
      await store.db.dropDatabase().catch((err: unknown) => problems.push(`drop database: ${String(err)}`));
      const admin = clients.kafka().admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: [names.topic], timeout: 10_000 }).catch((err: unknown) => {
          if (!/does not exist|UNKNOWN_TOPIC/i.test(String(err))) problems.push(`delete topic: ${String(err)}`);
        });
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      if (problems.length > 0) throw new Error(problems.join('; '));
    });
  }

  const workers = new Workers(root, env, logDir, client, config.temporal.namespace, names.taskQueue, say);
  cleanup.add('stopping the workers', () => workers.stopAll());
  await workers.start(true);

  await runCliOrThrow(root, env, ['start'], 120_000);
  cleanup.add(`deleting schedule ${names.scheduleId}, terminating the run's workflows (batch)`, async () => {
    await client.schedule
      .getHandle(names.scheduleId)
      .delete()
      .catch(() => undefined);
    await terminateTaskQueueWorkflows(client, config.temporal.namespace, names.taskQueue, 'the chaos run finished');
  });

  const script = await ChaosScript.create(admin, sim.clusterIds, { intervalMs: options.intervalS * 1000, dwellMs, agentTimeoutMs: options.agentTimeoutMs, gateTimeoutMs, seed: options.seed });
  cleanup.add('stopping the script', () => script.stop());
  const live = new LiveTopic(clients.kafka(), names.topic, (value) => script.onEvent(value as FleetEvent));
  await live.start();
  cleanup.add('stopping the topic reader', () => live.stop());

  const discoveryFile = join(logDir, 'chaos-discovery.yaml');
  writeFileSync(discoveryFile, [`name: ${names.discovery}`, 'backend: http', `interval: ${options.discoveryIntervalS}`, 'options:', `  url: ${sim.url}/discovery`, ''].join('\n'));
  // The onboarding is expected before the apply: its first events may reach the reader before the CLI has exited.
  script.onboard(Date.now());
  await runCliOrThrow(root, env, ['discovery', 'apply', '-f', discoveryFile], 120_000);
  const appliedMs = Date.now();
  const onboardingTimeoutMs = Math.max(120_000, options.clusters * 1000);
  say(`discovery applied; waiting for every cluster's onboarding events (at most ${onboardingTimeoutMs / 1000} s)`);
  let onboardingS: number | null = null;
  const onboardDeadline = appliedMs + onboardingTimeoutMs;
  while (script.settled().length < sim.clusterIds.length && Date.now() < onboardDeadline) await delay(250);
  if (script.settled().length === sim.clusterIds.length) onboardingS = round((Date.now() - appliedMs) / 1000, 1);
  else errors.push(`onboarding incomplete after ${onboardingTimeoutMs / 1000} s: ${sim.clusterIds.length - script.settled().length} clusters still wait for ${JSON.stringify(script.waiting().slice(0, 3))}`);
  say(`onboarded in ${onboardingS ?? '?'} s; the script starts`);

  const discoveryLastRun = async (): Promise<{ atMs: number; ok: boolean } | null> => {
    const doc = await store.db
      .collection<{ _id: string; last_run: { at: Date; ok: boolean } | null }>('discovery_settings')
      .findOne({ _id: names.discovery }, { maxTimeMS: 3000 });
    return doc?.last_run ? { atMs: doc.last_run.at.getTime(), ok: doc.last_run.ok } : null;
  };
  const context = { services, kafka: clients.kafka(), topic: names.topic, workers, script, live, admin, client, clusterIds: sim.clusterIds, taskQueue: names.taskQueue, nodes: sim.nodes.length, settings: options, discoveryLastRun, log: say };

  script.start();
  const baselineStart = Date.now();
  await delay(options.baselineS * 1000);

  const faults: { record: FaultRecord; recovery: Recovery | null; windowStart: number }[] = [];
  const recoveryTimeoutMs = Math.max(180_000, 20 * options.intervalS * 1000);
  for (const name of options.faults) {
    const windowStart = Date.now();
    say(`== fault: ${faultLabels[name]}`);
    let record: FaultRecord;
    try {
      record = await injectFault(name, context);
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      say(`fault ${name} failed: ${String(err)}`);
      record = { name, label: faultLabels[name], started_ms: windowStart, ended_ms: Date.now(), details: { failed: true } };
    }
    say(`fault over after ${round((record.ended_ms - record.started_ms) / 1000, 1)} s; measuring recovery`);
    const recovery = await measureRecovery(client, sim.clusterIds, record.ended_ms, recoveryTimeoutMs);
    say(
      recovery.all_refreshed_s === null
        ? `not every cluster refreshed within ${recoveryTimeoutMs / 1000} s: ${recovery.not_refreshed.slice(0, 10).join(', ')}`
        : `every cluster refreshed ${recovery.all_refreshed_s} s after the fault's end (median ${recovery.p50_s} s)`,
    );
    if (record.pending) await record.pending;
    faults.push({ record, recovery, windowStart });
    await delay(options.settleS * 1000);
  }

  const drainMs = Math.max(180_000, 30 * options.intervalS * 1000);
  say(`script finishing: no new changes; waiting for the last ones' events (at most ${drainMs / 1000} s)`);
  await script.finish(drainMs);
  const waiting = script.waiting();
  if (waiting.length > 0) say(`${waiting.length} clusters still wait for events: ${JSON.stringify(waiting.slice(0, 5))}`);

  // The final views: each cluster's status and node statuses as the model has them.
  const views = await queryViews(client, sim.clusterIds);
  const mismatches: ChaosResults['final_state_mismatches'] = [];
  for (const id of sim.clusterIds) {
    const expected = script.expected(id);
    const view = views.get(id)?.view ?? null;
    const seen = view ? { status: view.status, nodes: Object.fromEntries(view.members.filter((m) => m.left_discovery_at === null).map((m) => [m.address.slice(m.address.lastIndexOf('/') + 1), m.status.code])) } : null;
    if (JSON.stringify(sortKeys(expected)) !== JSON.stringify(sortKeys(seen))) mismatches.push({ cluster: id, expected, seen });
  }
  const running = await client.workflow
    .count(`WorkflowType = 'clusterRefresh' AND TaskQueue = '${names.taskQueue}' AND ExecutionStatus = 'Running'`)
    .then((answer) => answer.count)
    .catch(() => null);

  say('reading the whole topic for the oracle');
  const messages = await readWholeTopic(clients.kafka(), names.topic, 180_000);
  const endMs = Date.now();
  const firstFaultStart = faults[0]?.windowStart ?? endMs;
  const windows: Window[] = [
    { name: 'onboarding', startMs: appliedMs, endMs: baselineStart },
    { name: 'baseline', startMs: baselineStart, endMs: firstFaultStart },
    ...faults.map((fault, i) => ({ name: fault.record.name, startMs: fault.windowStart, endMs: faults[i + 1]?.windowStart ?? endMs + 1 })),
  ];
  const changes = script.changes();
  const verdict = judge(messages, changes, windows, script.arrivedAt());
  // For post-mortems (the log folder is kept when the run is not OK, or with --keep-logs).
  writeFileSync(join(logDir, 'changes.json'), `${JSON.stringify(changes.sort((a, b) => a.at_ms - b.at_ms))}\n`);
  writeFileSync(join(logDir, 'topic.json'), `${JSON.stringify(messages)}\n`);
  writeFileSync(join(logDir, 'windows.json'), `${JSON.stringify(windows)}\n`);
  writeFileSync(join(logDir, 'arrivals.json'), `${JSON.stringify([...script.arrivedAt()])}\n`);
  const fromStart = (ms: number): number => round((ms - appliedMs) / 1000, 1)!;
  const detectionOf = (list: readonly ScriptedChange[]): number[] => list.flatMap((change) => (verdict.detection_ms.has(change) ? [verdict.detection_ms.get(change)! / 1000] : []));
  const rows: ChaosRow[] = windows.map((window) => {
    const fault = faults.find((f) => f.record.name === window.name && f.windowStart === window.startMs);
    // A fault's changes: those made while it lasted or while the fleet recovered from it (until every cluster refreshed again).
    const recoveredMs = fault ? fault.record.ended_ms + 1000 * (fault.recovery?.all_refreshed_s ?? 0) : 0;
    const during = fault ? changes.filter((c) => c.at_ms >= fault.record.started_ms && c.at_ms <= recoveredMs) : changes.filter((c) => c.at_ms >= window.startMs && c.at_ms < window.endMs);
    const delays = detectionOf(during);
    return {
      name: window.name,
      label: fault ? fault.record.label : window.name === 'onboarding' ? 'onboarding (first refresh of every cluster)' : 'baseline (no fault)',
      window_s: [fromStart(window.startMs), fromStart(window.endMs)],
      fault_s: fault ? [fromStart(fault.record.started_ms), fromStart(fault.record.ended_ms)] : null,
      fault_duration_s: fault ? round((fault.record.ended_ms - fault.record.started_ms) / 1000, 1) : null,
      recovery: fault?.recovery ?? null,
      recovery_after_kill: fault?.record.after_kill ?? null,
      ...verdict.rows[window.name]!,
      scripted_during_fault: fault ? during.length : 0,
      detection_p50_s: round(percentile(delays, 50), 1),
      detection_max_s: delays.length > 0 ? round(Math.max(...delays), 1) : null,
      details: fault?.record.details ?? {},
    };
  });
  const changesByKind: Record<string, number> = {};
  for (const change of changes) {
    const kind = change.tag?.replace(/:end$/, ' end') ?? (change.what === 'onboarding' ? 'onboarding' : change.what.replace(/^n\d+ /, '').replace(/ to n\d+$/, '').replace(/ \(decommission\)$/, ' (node leaving)'));
    changesByKind[kind] = (changesByKind[kind] ?? 0) + 1;
  }
  const goalMisses: string[] = [];
  for (const fault of faults) {
    if (fault.record.name !== 'history-kill' && fault.record.name !== 'broker-kill') continue;
    const measures: [string, Recovery | null | undefined][] = [
      ['from the kill', fault.record.after_kill],
      ['from the restart', fault.recovery],
    ];
    for (const [from, recovery] of measures) {
      const s = recovery?.all_refreshed_s ?? null;
      if (s === null || s > options.recoveryGoalS) goalMisses.push(`${fault.record.name}: every cluster refreshed ${s === null ? 'not within the bound' : `${s} s`} ${from} (goal ${options.recoveryGoalS} s)`);
    }
  }
  const stuck = script.stuck();
  const totals = {
    ...verdict.totals,
    messages: verdict.messages,
    unique_events: verdict.unique_events,
    expected_keys: verdict.expected_keys,
    matched_keys: verdict.matched_keys,
    clusters_stuck: stuck.length,
    final_state_mismatches: mismatches.length,
    cluster_workflows_running_at_end: running,
  };
  const ok =
    errors.length === 0 &&
    totals.lost === 0 &&
    totals.invented === 0 &&
    totals.reused_ids === 0 &&
    totals.retired === 0 &&
    totals.out_of_order === 0 &&
    totals.id_order_violations === 0 &&
    totals.id_gaps === 0 &&
    stuck.length === 0 &&
    goalMisses.length === 0 &&
    mismatches.length === 0 &&
    running === sim.clusterIds.length;

  const previousRunDir = process.env.FLEETVIEW_RUN_DIR;
  if (services.kind === 'own') process.env.FLEETVIEW_RUN_DIR = services.scriptEnv.FLEETVIEW_RUN_DIR;
  const serviceVersions = await versions(config, root).catch(() => null);
  if (previousRunDir === undefined) delete process.env.FLEETVIEW_RUN_DIR;
  else process.env.FLEETVIEW_RUN_DIR = previousRunDir;

  return {
    benchmark: 'chaos',
    date: startedAt.toISOString(),
    command,
    git: gitCommit(root),
    machine: { ...machineAtStart, load_average_at_end: loadAverage() },
    versions: serviceVersions,
    settings: { ...options, dwell_s: dwellMs / 1000, gate_timeout_s: gateTimeoutMs / 1000, names },
    mapping: changeMapping,
    method: {
      services:
        services.kind === 'cluster'
          ? `the cluster profile of scripts/services.sh (${services.foundDown.length > 0 ? `found with ${services.foundDown.join(', ')} down and started` : 'found running'}; left running): self-hosted Temporal (frontend, ${services.historyProcs.length} history, matching, worker on PostgreSQL), ${services.kafkaProcs.length} Kafka nodes (RF 3, min.insync.replicas 2), store; names of the run's own (${tag}); one history process or broker SIGKILLed (its process group, from the profile's pid file) and started again with services.sh --profile cluster start temporal|kafka, which starts only the processes that do not run`
          : 'own Temporal dev server, Kafka and store started through scripts/services.sh on free ports in a temporary folder; killed with SIGKILL to the process group, stopped with services.sh stop, frozen with SIGSTOP',
      script: `one change at a time per cluster, each at least ${dwellMs / 1000} s after the last (two intervals) and only once every event the last one must cause is on the topic; changes land half an interval from the cluster's refresh slots; a node leaves after its agent went down (a change of its own)`,
      expected: 'bench/chaos/model.ts from the sim cluster before and after each change (GET /admin/clusters/<id>), keys like "AGENT_DOWN n2 UP>AGENT_DOWN"; the model agrees with aggregate + diff (test/unit/chaos-model.test.ts)',
      oracle: 'every message of the topic read at the end; duplicates by id = same id, same content; reused ids = same id, other content; per cluster, unique events in topic order matched to the expected keys of changes made before the event was first read from the topic, in change order (behind the last match: out of order); unmatched events invented, unmatched keys lost; CLUSTER_RETIRED never expected; refresh event ids must grow in topic order without gaps',
      recovery: `from the fault's end until every cluster's view query shows a completed refresh that started after it (last_report.started_at, workflow time); for history-kill and broker-kill also from the kill (recovery_after_kill), measured at the same time; goal ${options.recoveryGoalS} s for both`,
      detection: 'per change scripted during the fault: from the sim change log\'s at_ms until the last of its events was first read from the topic by the run\'s live reader (fleetview gives Kafka the event\'s own timestamp, the refresh\'s start, not the publish time)',
      attribution: 'lost by the change\'s time, invented and out of order by the event\'s arrival, duplicate and reused copies by their Kafka timestamp, to the row whose window (from the phase\'s start to the next one\'s) holds it',
    },
    onboarding_s: onboardingS,
    rows,
    totals,
    examples: verdict.examples,
    recovery_goal_misses: goalMisses,
    stuck,
    final_state_mismatches: mismatches.slice(0, 20),
    changes_by_kind: changesByKind,
    process_groups_started: startedGroups,
    services_dir: services.dir,
    errors,
    ok,
    duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
  };
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

export function writeResults(path: string, results: ChaosResults): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
