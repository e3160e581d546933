/**
 * The faults of the chaos run, one at a time. Each returns when the fault is over (the service
 * is back, the worker restarted, the agents answer again); the run then measures recovery and
 * lets the fleet settle before the next one. `started_ms`..`ended_ms` is the fault itself:
 * changes the script makes in it are "scripted during the fault".
 */
import type { Client } from '@temporalio/client';
import type { KafkaClient } from '../../src/adapters/clients.js';
import { delay } from '../fleet/processes.js';
import type { ClusterProfile, ProfileProc } from './cluster-profile.js';
import type { OwnServices } from './own-services.js';
import { measureRecovery, queryViews, type Recovery } from './recovery.js';
import type { ChaosScript, ScriptedChange, SimAdmin } from './script.js';
import type { LiveTopic } from './topic.js';
import type { Workers } from './workers.js';

export const faultNames = ['worker-kill', 'two-workers', 'temporal-kill', 'kafka-stop', 'store-freeze', 'store-kill', 'history-kill', 'broker-kill', 'agent-faults', 'discovery-fail'] as const;
export type FaultName = (typeof faultNames)[number];

/** Where the run's Temporal, Kafka and store come from: its own (dev server, one broker) or the shared cluster profile. */
export type ServicesMode = 'own' | 'cluster';

/**
 * The faults each mode can play, in their default order. On its own services the run may stop,
 * kill and freeze them whole; the cluster profile is shared (fixed ports, other users), so there
 * the run kills one process of a replicated service at a time, and leaves the store alone.
 */
export const faultsOf: Record<ServicesMode, readonly FaultName[]> = {
  own: ['worker-kill', 'two-workers', 'temporal-kill', 'kafka-stop', 'store-freeze', 'store-kill', 'agent-faults', 'discovery-fail'],
  cluster: ['worker-kill', 'two-workers', 'history-kill', 'broker-kill', 'agent-faults', 'discovery-fail'],
};

export const faultLabels: Record<FaultName, string> = {
  'worker-kill': 'worker SIGKILL, started again',
  'two-workers': 'two workers, one SIGKILLed',
  'temporal-kill': 'Temporal SIGKILL, restarted on its SQLite file',
  'kafka-stop': 'Kafka stopped',
  'store-freeze': 'store frozen (SIGSTOP)',
  'store-kill': 'store SIGKILL, restarted',
  'history-kill': 'one Temporal history process SIGKILLed, started again',
  'broker-kill': 'one Kafka broker SIGKILLed, started again',
  'agent-faults': 'agent faults on nodes: hang, reset, 500, not JSON, 10 MiB',
  'discovery-fail': 'discovery endpoint failing for 3 runs',
};

/** The agent modes of the agent-fault phase (sim agent modes), one per node in turn. */
export const agentFaultModes = ['hang', 'reset', 'error', 'garbage', 'oversize'] as const;

export interface FaultSettings {
  intervalS: number;
  discoveryIntervalS: number;
  workerDownS: number;
  temporalDownS: number;
  kafkaOutageS: number;
  storeFreezeS: number;
  /** Cluster profile: how long the killed history process stays down, and which one (null: the first). */
  historyDownS: number;
  historyNode: number | null;
  /** Cluster profile: how long the killed Kafka node stays down, and which (null: the one leading most of the topic's partitions). */
  brokerDownS: number;
  brokerNode: number | null;
  /** Share of the nodes that get an agent fault (at least one per mode). */
  agentFaultShare: number;
  /** How long the agent faults hold once every one of them is reported. */
  agentFaultHoldS: number;
  discoveryFailRuns: number;
  seed: number;
}

export interface FaultContext {
  services: OwnServices | ClusterProfile;
  kafka: KafkaClient;
  topic: string;
  workers: Workers;
  script: ChaosScript;
  live: LiveTopic;
  admin: SimAdmin;
  client: Client;
  clusterIds: readonly string[];
  /** The run's task queue: the namespace may be shared (cluster profile). */
  taskQueue: string;
  nodes: number;
  settings: FaultSettings;
  /** The chaos discovery's last run as the store has it (at: the run's time). */
  discoveryLastRun(): Promise<{ atMs: number; ok: boolean } | null>;
  log: (line: string) => void;
}

export interface FaultRecord {
  name: FaultName;
  label: string;
  started_ms: number;
  ended_ms: number;
  details: Record<string, unknown>;
  /**
   * A measure still running when the fault returns (the refreshes after a kill, measured from
   * the kill while the process is down and after it is back): the run awaits it after the
   * recovery from the fault's end.
   */
  pending?: Promise<void>;
  /** From the kill, for the faults that kill one process of a replicated service. */
  after_kill?: Recovery | null;
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await delay(250);
  }
}

function ownServices(context: FaultContext, name: FaultName): OwnServices {
  if (context.services.kind !== 'own') throw new Error(`${name} stops, kills or freezes a whole service: only with the run's own services (not --temporal cluster)`);
  return context.services;
}

function clusterProfile(context: FaultContext, name: FaultName): ClusterProfile {
  if (context.services.kind !== 'cluster') throw new Error(`${name} kills one process of the cluster profile: only with --temporal cluster`);
  return context.services;
}

/** Partitions of the topic each broker leads now. */
async function partitionLeaders(kafka: KafkaClient, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const leaders = new Map<number, number>();
    for (const partition of metadata.topics[0]?.partitions ?? []) leaders.set(partition.leader, (leaders.get(partition.leader) ?? 0) + 1);
    return leaders;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * One process of a replicated cluster-profile service SIGKILLed, down for `downS`, then started
 * again through services.sh. The refreshes are measured from the kill (every cluster completed a
 * refresh that started after it: the survivors took over, or the process came back), at the
 * same time as the run measures them from the restart.
 */
async function killOne(context: FaultContext, name: FaultName, proc: ProfileProc, downS: number, details: Record<string, unknown>): Promise<FaultRecord> {
  const profile = clusterProfile(context, name);
  const boundMs = Math.max(180_000, 20 * context.settings.intervalS * 1000);
  const started = Date.now();
  const { pid } = await profile.kill(proc);
  context.log(`${proc} (pid ${pid}) SIGKILLed; starting it again in ${downS} s`);
  const afterKill = measureRecovery(context.client, context.clusterIds, started, boundMs);
  let backBeforeRestart: boolean | null = null;
  void afterKill.then((recovery) => {
    backBeforeRestart ??= recovery.all_refreshed_s !== null;
    context.log(recovery.all_refreshed_s === null ? `not every cluster refreshed within ${boundMs / 1000} s of the kill` : `every cluster refreshed ${recovery.all_refreshed_s} s after the kill (median ${recovery.p50_s} s)`);
  });
  await delay(downS * 1000);
  backBeforeRestart ??= false;
  const restarting = Date.now();
  await profile.startMissing(proc.startsWith('kafka-') ? 'kafka' : 'temporal');
  const result: FaultRecord = {
    name,
    label: faultLabels[name],
    started_ms: started,
    ended_ms: Date.now(),
    details: { ...details, killed: proc, pid, down_s: seconds(restarting - started), restart_to_ready_s: seconds(Date.now() - restarting) },
  };
  result.pending = afterKill.then((recovery) => {
    result.after_kill = recovery;
    result.details.every_cluster_refreshed_after_kill_s = recovery.all_refreshed_s;
    result.details.median_cluster_refreshed_after_kill_s = recovery.p50_s;
    result.details.refreshed_again_before_the_restart = backBeforeRestart;
  });
  return result;
}

export async function injectFault(name: FaultName, context: FaultContext): Promise<FaultRecord> {
  const { workers, settings, log } = context;
  const record = (startedMs: number, details: Record<string, unknown> = {}): FaultRecord => ({ name, label: faultLabels[name], started_ms: startedMs, ended_ms: Date.now(), details });
  switch (name) {
    case 'worker-kill': {
      const victims = workers.alive();
      const started = Date.now();
      for (const worker of victims) await workers.kill(worker);
      await delay(settings.workerDownS * 1000);
      log(`starting a new worker after ${settings.workerDownS} s without one`);
      const restartedMs = Date.now();
      const worker = await workers.start(false);
      const result = record(started, { killed: victims.map((w) => w.name), down_s: seconds(restartedMs - started) });
      result.ended_ms = restartedMs;
      await workers.waitReady(worker, 180_000);
      result.details.new_worker_polls_after_s = seconds(worker.readyMs! - restartedMs);
      return result;
    }
    case 'two-workers': {
      const [victim] = workers.alive();
      if (!victim) throw new Error('no worker runs');
      const second = await workers.start(true);
      // One interval with both polling, so the second is really taking tasks when the first dies.
      await delay(settings.intervalS * 1000);
      const started = Date.now();
      await workers.kill(victim);
      return record(started, { second_worker: second.name, killed: victim.name });
    }
    case 'temporal-kill': {
      const services = ownServices(context, name);
      const started = Date.now();
      await services.kill('temporal');
      log(`Temporal killed; starting it again in ${settings.temporalDownS} s`);
      await delay(settings.temporalDownS * 1000);
      const restarting = Date.now();
      await services.start('temporal');
      return record(started, { down_s: seconds(restarting - started), restart_to_ready_s: seconds(Date.now() - restarting) });
    }
    case 'kafka-stop': {
      const services = ownServices(context, name);
      const started = Date.now();
      const observedBefore = context.script.observedOnly();
      context.script.setKafkaDown(true);
      await services.stop('kafka');
      const stoppedMs = Date.now();
      log(`Kafka stopped (${seconds(stoppedMs - started)} s to stop); starting it again ${settings.kafkaOutageS} s after the stop began`);
      await delay(Math.max(0, started + settings.kafkaOutageS * 1000 - Date.now()));
      const restarting = Date.now();
      await services.start('kafka');
      const result = record(started, { outage_s: seconds(Date.now() - started), restart_to_ready_s: seconds(Date.now() - restarting) });
      try {
        await context.live.restart();
      } finally {
        context.script.setKafkaDown(false);
      }
      result.details.changes_let_through_on_sim_requests = context.script.observedOnly() - observedBefore;
      return result;
    }
    case 'store-freeze': {
      const services = ownServices(context, name);
      const started = Date.now();
      services.freeze('store');
      await delay(settings.storeFreezeS * 1000);
      services.thaw('store');
      return record(started, { frozen_s: seconds(Date.now() - started) });
    }
    case 'store-kill': {
      const services = ownServices(context, name);
      const started = Date.now();
      await services.kill('store');
      const restarting = Date.now();
      await services.start('store');
      return record(started, { restart_to_ready_s: seconds(Date.now() - restarting) });
    }
    case 'history-kill': {
      const profile = clusterProfile(context, name);
      const proc = (settings.historyNode === null ? profile.historyProcs[0]! : `temporal-history-${settings.historyNode}`) as ProfileProc;
      if (!profile.historyProcs.includes(proc)) throw new Error(`--history ${settings.historyNode}: the profile's history processes are ${profile.historyProcs.join(', ')}`);
      return killOne(context, name, proc, settings.historyDownS, { history_processes: profile.historyProcs.length });
    }
    case 'broker-kill': {
      const profile = clusterProfile(context, name);
      const leaders = await partitionLeaders(context.kafka, context.topic);
      // The broker leading most of the run's partitions (the lowest id on a tie): its partitions must elect new leaders.
      const node = settings.brokerNode ?? [...leaders].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
      const proc = `kafka-${node}` as ProfileProc;
      if (!profile.kafkaProcs.includes(proc)) throw new Error(`broker ${node}: the profile's Kafka nodes are ${profile.kafkaProcs.join(', ')}`);
      const result = await killOne(context, name, proc, settings.brokerDownS, { partition_leaders_before: Object.fromEntries(leaders) });
      // A reader that lost its broker may have given up: a new one (consumers drop duplicates by id).
      await context.live.restart();
      result.details.partition_leaders_after = Object.fromEntries(await partitionLeaders(context.kafka, context.topic).catch(() => new Map<number, number>()));
      return result;
    }
    case 'agent-faults':
      return agentFaults(context);
    case 'discovery-fail':
      return discoveryFailure(context);
  }
}

/** Seeded shuffle, so a seed picks the same clusters. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function agentFaults(context: FaultContext): Promise<FaultRecord> {
  const { script, settings, log } = context;
  const count = Math.max(agentFaultModes.length, Math.round(context.nodes * settings.agentFaultShare));
  const clusters = shuffled(script.candidates(), settings.seed).slice(0, count);
  if (clusters.length < count) log(`agent faults: ${count} wanted, ${clusters.length} clusters can take one`);
  const tags = clusters.map((_, i) => `agent-fault:${agentFaultModes[i % agentFaultModes.length]}`);
  const since = Date.now();
  const ours = (): ScriptedChange[] => script.changes().filter((change) => change.at_ms >= since && change.tag?.startsWith('agent-fault:') === true);
  script.reserve(clusters);
  const boundMs = (20 * settings.intervalS + 120) * 1000;
  try {
    clusters.forEach((id, i) => script.force(id, { kind: 'agent_fault', mode: agentFaultModes[i % agentFaultModes.length]!, tag: tags[i]! }));
    await until('every agent fault injected and reported', boundMs, () => clusters.every((id) => script.idle(id)));
    const injected = ours().filter((change) => !change.tag!.endsWith(':end'));
    // What fleetview calls each fault: the node's status and reason in its cluster's view.
    const views = await queryViews(context.client, clusters);
    const reasons: Record<string, { status: string | null; reason: string | null }[]> = {};
    for (const change of injected) {
      const member = views.get(change.cluster)?.view?.members.find((m) => m.address.endsWith(`/n/${change.node}`));
      const mode = change.tag!.slice('agent-fault:'.length);
      (reasons[mode] ??= []).push({ status: member?.status.code ?? null, reason: member?.status.reason ?? null });
    }
    log(`agent faults on ${injected.length} nodes, all reported; holding ${settings.agentFaultHoldS} s`);
    await delay(settings.agentFaultHoldS * 1000);
    clusters.forEach((id, i) => script.force(id, { kind: 'agent_fault_end', tag: tags[i]! }));
    await until('every agent fault ended and reported', boundMs, () => clusters.every((id) => script.idle(id)));
    const mine = ours();
    const byMode: Record<string, number> = {};
    for (const change of injected) byMode[change.tag!.slice('agent-fault:'.length)] = (byMode[change.tag!.slice('agent-fault:'.length)] ?? 0) + 1;
    return {
      name: 'agent-faults',
      label: faultLabels['agent-faults'],
      started_ms: Math.min(...mine.map((c) => c.at_ms)),
      ended_ms: Math.max(...mine.map((c) => c.at_ms)),
      details: { nodes: injected.length, share_of_nodes: Math.round((injected.length / context.nodes) * 1000) / 1000, by_mode: byMode, status_and_reason: reasons },
    };
  } finally {
    script.release(clusters);
  }
}

async function discoveryFailure(context: FaultContext): Promise<FaultRecord> {
  const { admin, client, settings, log } = context;
  const failed = async (sinceIso: string): Promise<number> => {
    try {
      return (await client.workflow.count(`WorkflowType = 'discovery' AND TaskQueue = '${context.taskQueue}' AND ExecutionStatus = 'Failed' AND StartTime >= '${sinceIso}'`)).count;
    } catch {
      return 0;
    }
  };
  const started = Date.now();
  const startedIso = new Date(started).toISOString();
  await admin.post('/admin/discovery', { fail: true });
  const boundMs = ((settings.discoveryFailRuns + 3) * settings.discoveryIntervalS + 120) * 1000;
  try {
    await until(`${settings.discoveryFailRuns} failed discovery runs`, boundMs, async () => (await failed(startedIso)) >= settings.discoveryFailRuns);
  } finally {
    await admin.post('/admin/discovery', { fail: false });
  }
  const ended = Date.now();
  const state = (await admin.get('/admin/discovery')) as { failed_requests: number };
  log(`discovery failed ${settings.discoveryFailRuns} runs (${state.failed_requests} requests refused); answering again`);
  let recoveredMs: number | null = null;
  await until('a successful run of the discovery after the endpoint answers again', boundMs, async () => {
    const last = await context.discoveryLastRun().catch(() => null);
    return last !== null && last.ok && last.atMs >= ended;
  })
    .then(() => {
      recoveredMs = Date.now();
    })
    .catch((err: unknown) => log(String(err)));
  return {
    name: 'discovery-fail',
    label: faultLabels['discovery-fail'],
    started_ms: started,
    ended_ms: ended,
    details: {
      failed_runs: await failed(startedIso),
      failed_requests: state.failed_requests,
      discovery_ok_again_after_s: recoveredMs === null ? null : seconds(recoveredMs - ended),
    },
  };
}
