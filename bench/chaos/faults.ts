/**
 * The faults of the chaos run, one at a time. Each returns when the fault is over (the service
 * is back, the worker restarted, the agents answer again); the run then measures recovery and
 * lets the fleet settle before the next one. `started_ms`..`ended_ms` is the fault itself:
 * changes the script makes in it are "scripted during the fault".
 */
import type { Client } from '@temporalio/client';
import { delay } from '../fleet/processes.js';
import type { OwnServices } from './own-services.js';
import { queryViews } from './recovery.js';
import type { ChaosScript, ScriptedChange, SimAdmin } from './script.js';
import type { LiveTopic } from './topic.js';
import type { Workers } from './workers.js';

export const faultNames = ['worker-kill', 'two-workers', 'temporal-kill', 'kafka-stop', 'store-freeze', 'store-kill', 'agent-faults', 'discovery-fail'] as const;
export type FaultName = (typeof faultNames)[number];

export const faultLabels: Record<FaultName, string> = {
  'worker-kill': 'worker SIGKILL, started again',
  'two-workers': 'two workers, one SIGKILLed',
  'temporal-kill': 'Temporal SIGKILL, restarted on its SQLite file',
  'kafka-stop': 'Kafka stopped',
  'store-freeze': 'store frozen (SIGSTOP)',
  'store-kill': 'store SIGKILL, restarted',
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
  /** Share of the nodes that get an agent fault (at least one per mode). */
  agentFaultShare: number;
  /** How long the agent faults hold once every one of them is reported. */
  agentFaultHoldS: number;
  discoveryFailRuns: number;
  seed: number;
}

export interface FaultContext {
  services: OwnServices;
  workers: Workers;
  script: ChaosScript;
  live: LiveTopic;
  admin: SimAdmin;
  client: Client;
  clusterIds: readonly string[];
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
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await delay(250);
  }
}

export async function injectFault(name: FaultName, context: FaultContext): Promise<FaultRecord> {
  const { services, workers, settings, log } = context;
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
      const started = Date.now();
      await services.kill('temporal');
      log(`Temporal killed; starting it again in ${settings.temporalDownS} s`);
      await delay(settings.temporalDownS * 1000);
      const restarting = Date.now();
      await services.start('temporal');
      return record(started, { down_s: seconds(restarting - started), restart_to_ready_s: seconds(Date.now() - restarting) });
    }
    case 'kafka-stop': {
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
      const started = Date.now();
      services.freeze('store');
      await delay(settings.storeFreezeS * 1000);
      services.thaw('store');
      return record(started, { frozen_s: seconds(Date.now() - started) });
    }
    case 'store-kill': {
      const started = Date.now();
      await services.kill('store');
      const restarting = Date.now();
      await services.start('store');
      return record(started, { restart_to_ready_s: seconds(Date.now() - restarting) });
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
      return (await client.workflow.count(`WorkflowType = 'discovery' AND ExecutionStatus = 'Failed' AND StartTime >= '${sinceIso}'`)).count;
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
