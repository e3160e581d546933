/**
 * The mixed fleet of bench:large: many small clusters (default 1,000 × 3 nodes, the sim's three
 * kinds) and a few big Kafka-like ones (default five 500 × 20) on one worker, at one interval
 * (default 15 s): does a big cluster starve the small ones? Two sims (one per group, so each
 * group's node requests are counted apart), two discoveries, one worker and names of its own.
 *
 * Onboarding: every cluster's first refresh, every event on the topic (the same check as a
 * shape's), bounded; the window runs whether or not the big clusters made it (the point is the
 * small ones). Over a window of whole intervals, one interval after onboarding, per group:
 * done ÷ due from the sim's node requests (three Agent API calls per node and refresh, every
 * node up; the worker's metrics have no per-cluster label), start lag from the histories of
 * sampled clusters (history-cost.ts); for all clusters together, the worker's metrics.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { clusterWorkflowId } from '../../src/domain/ids.js';
import { refreshPhaseMs } from '../../src/domain/refresh-slots.js';
import { applyDiscovery, scrapeWorker } from '../fleet/fleetview-run.js';
import { fetchRunChain } from '../fleet/history.js';
import { delay } from '../fleet/processes.js';
import { counterTotal, histogram, histogramDelta, histogramQuantile } from '../fleet/prom-text.js';
import { startSimProcess, type SimProcess } from '../fleet/sim-process.js';
import { ratio, round, sample } from '../fleet/stats.js';
import { UsageWindow } from '../fleet/usage-window.js';
import { cyclesIn, lagStats, refreshCycles, type LagStats } from './history-cost.js';
import { waitFor } from './probes.js';
import { bookkeeping, shapeNames, startWatchedFleetview, windowIntervals, type RunContext } from './run-shape.js';
import { expectedFirstRefreshEvents, partitionsOf, shapeLabel, type Shape } from './shape.js';
import { checkRefreshEvents, firstGeneration } from './topic-events.js';

export interface MixedSettings {
  intervalS: number;
  measureS: number;
  tickS: number;
  discoveryIntervalS: number;
  onboardingTimeoutS: number;
  smallClusters: number;
  smallNodes: number;
  bigClusters: number;
  bigShape: Shape;
  /** Small clusters whose histories are read for the start lag (every big one is). */
  historySample: number;
}

export interface GroupResult {
  clusters: number;
  nodes_per_cluster: number;
  shape: string;
  /** Clusters whose first refresh's events are all on the topic. */
  onboarded: number;
  /** From the discovery apply to the last of them (received by the benchmark's consumer); null unless all made it. */
  onboarded_s: number | null;
  done: number | null;
  due: number | null;
  done_ratio: number | null;
  history_sampled: number;
  /** Start lag after the slot timer fired, and against the slot (the goal's measure). */
  timer_lag_ms: LagStats;
  slot_lag_ms: LagStats;
}

export interface MixedResult {
  interval_s: number;
  window_s: number | null;
  names: ReturnType<typeof shapeNames>;
  small: GroupResult;
  big: GroupResult;
  /** All clusters together, from the worker's fleetview_refreshes and fleetview_refresh_lag. */
  metric: { done: number | null; due: number | null; done_ratio: number | null; lag_p99_ms: number | null };
  /** Cores (CPU seconds per second) over the window. */
  cpu: { worker: number | null; temporal: number | null; kafka: number | null; store: number | null; sims: number | null } | null;
  worker_rss_mb: { peak: number | null; at_end: number | null };
  errors: string[];
  notes: string[];
  cleanup_problems: string[];
  duration_s: number;
}

interface Group {
  sim: SimProcess;
  expected: Map<string, number>;
  done: Map<string, number>;
  result: GroupResult;
}

function emptyGroup(clusters: number, nodes: number, shape: string): GroupResult {
  return {
    clusters,
    nodes_per_cluster: nodes,
    shape,
    onboarded: 0,
    onboarded_s: null,
    done: null,
    due: null,
    done_ratio: null,
    history_sampled: 0,
    timer_lag_ms: lagStats([]),
    slot_lag_ms: lagStats([]),
  };
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message.split('\n').slice(0, 6).join(' | ') : String(err));

export async function runMixed(context: RunContext, settings: MixedSettings): Promise<MixedResult> {
  const { cleanup, log } = context;
  const startedMs = Date.now();
  const names = shapeNames(context.runId, 'mixed', settings.intervalS);
  const bigLabel = shapeLabel(settings.bigShape);
  const result: MixedResult = {
    interval_s: settings.intervalS,
    window_s: null,
    names,
    small: emptyGroup(settings.smallClusters, settings.smallNodes, `${settings.smallNodes} nodes, the sim's three kinds`),
    big: emptyGroup(settings.bigClusters, settings.bigShape.nodes, bigLabel),
    metric: { done: null, due: null, done_ratio: null, lag_p99_ms: null },
    cpu: null,
    worker_rss_mb: { peak: null, at_end: null },
    ...bookkeeping(),
  };
  const problemsBefore = cleanup.problems.length;
  const mark = cleanup.mark();
  const logDir = join(context.logDir, `mixed-${settings.intervalS}s`);
  log(`== mixed: ${settings.smallClusters} × ${settings.smallNodes} and ${settings.bigClusters} × ${bigLabel}, interval ${settings.intervalS} s, names ${names.taskQueue}`);
  try {
    mkdirSync(logDir, { recursive: true });
    const startGroup = async (name: string, clusters: number, nodes: number, prefix: string, shape: Parameters<typeof startSimProcess>[5], into: GroupResult): Promise<Group> => {
      const sim = await startSimProcess(context.root, logDir, clusters, nodes, prefix, shape, name);
      cleanup.add(`stopping ${name}`, () => sim.group.stop(10_000));
      const expected = new Map<string, number>();
      for (const cluster of await sim.clusters()) {
        const copies = cluster.shards.reduce((total, shard) => total + shard.replicas.length, 0);
        expected.set(cluster.cluster_id, expectedFirstRefreshEvents(cluster.nodes.length, copies).total);
      }
      return { sim, expected, done: new Map(), result: into };
    };
    const small = await startGroup('sim-small', settings.smallClusters, settings.smallNodes, `${names.sim_id_prefix}s-`, {}, result.small);
    const big = await startGroup('sim-big', settings.bigClusters, settings.bigShape.nodes, `${names.sim_id_prefix}b-`, { kinds: ['kafka'], partitions: partitionsOf(settings.bigShape) }, result.big);
    const groups = [small, big];

    const { session, events, rss } = await startWatchedFleetview(context, logDir, names, settings);
    const { appliedMs } = await applyDiscovery(session, { root: context.root, logDir }, `${names.discovery}-small`, `${small.sim.url}/discovery`, settings.discoveryIntervalS);
    await applyDiscovery(session, { root: context.root, logDir }, `${names.discovery}-big`, `${big.sim.url}/discovery`, settings.discoveryIntervalS);
    log(`both discoveries applied; waiting for every cluster's first refresh (at most ${settings.onboardingTimeoutS} s)`);

    let seenCount = -1;
    const onboarding = await waitFor(
      `every cluster's first refresh on the topic`,
      appliedMs + settings.onboardingTimeoutS * 1000 - Date.now(),
      () => {
        if (events.count !== seenCount) {
          seenCount = events.count;
          for (const group of groups) {
            for (const [clusterId, expected] of group.expected) {
              if (group.done.has(clusterId)) continue;
              const own = events.of(clusterId);
              const check = checkRefreshEvents(own, firstGeneration(own), expected);
              if (check.completed_ms !== null) group.done.set(clusterId, check.completed_ms);
            }
          }
        }
        return groups.every((group) => group.done.size === group.expected.size) ? true : null;
      },
      () => (session.worker.exited() ? 'the worker exited' : null),
      1000,
    );
    for (const group of groups) {
      group.result.onboarded = group.done.size;
      group.result.onboarded_s = group.done.size === group.expected.size && group.done.size > 0 ? round((Math.max(...group.done.values()) - appliedMs) / 1000, 1) : null;
    }
    if (onboarding.failure) {
      result.notes.push(`${onboarding.failure}: small ${small.done.size} of ${small.expected.size}, big ${big.done.size} of ${big.expected.size}; the window ran all the same`);
      log(result.notes[result.notes.length - 1]!);
    } else await delay(settings.intervalS * 1000);

    const intervals = windowIntervals(settings.measureS, settings.intervalS);
    log(`measuring over ${intervals} interval(s)`);
    const usage = new UsageWindow({
      worker: session.worker.pgid,
      temporal: context.servicePgids.temporal,
      kafka: context.servicePgids.kafka,
      store: context.servicePgids.store,
      simSmall: small.sim.group.pgid,
      simBig: big.sim.group.pgid,
    });
    const before = await scrapeWorker(session.metricsPort);
    const requestsBefore = await Promise.all(groups.map((group) => group.sim.nodeRequests()));
    usage.start();
    const windowStartMs = Date.now();
    await delay(intervals * settings.intervalS * 1000);
    const { seconds, costs } = usage.end();
    const windowEndMs = Date.now();
    const after = await scrapeWorker(session.metricsPort);
    const requestsAfter = await Promise.all(groups.map((group) => group.sim.nodeRequests()));
    result.window_s = round(seconds, 1);
    groups.forEach((group, index) => {
      const observations = (requestsAfter[index]! - requestsBefore[index]!) / 3;
      group.result.done = round(observations / group.result.nodes_per_cluster, 1);
      group.result.due = group.result.clusters * intervals;
      group.result.done_ratio = round(ratio(group.result.done, group.result.due), 3);
    });
    const total = (samples: typeof before): number | null => (samples.length === 0 ? null : (counterTotal(samples, 'fleetview_refreshes') ?? 0));
    const doneAll = total(after) === null || total(before) === null ? null : total(after)! - total(before)!;
    const dueAll = (settings.smallClusters + settings.bigClusters) * intervals;
    result.metric = {
      done: doneAll,
      due: dueAll,
      done_ratio: round(ratio(doneAll, dueAll), 3),
      lag_p99_ms: round(histogramQuantile(histogramDelta(histogram(before, 'fleetview_refresh_lag'), histogram(after, 'fleetview_refresh_lag')), 0.99), 1),
    };
    const cores = (name: string): number | null => costs[name]?.cores ?? null;
    const simCores = [cores('simSmall'), cores('simBig')];
    result.cpu = {
      worker: cores('worker'),
      temporal: cores('temporal'),
      kafka: cores('kafka'),
      store: cores('store'),
      sims: simCores.some((v) => v === null) ? null : round(simCores[0]! + simCores[1]!, 3),
    };

    // Start lag from the histories: a sample of the small clusters, every big one.
    for (const group of groups) {
      const ids = group === small ? sample([...group.expected.keys()], settings.historySample) : [...group.expected.keys()];
      const timerLags: number[] = [];
      const slotLags: number[] = [];
      for (const clusterId of ids) {
        try {
          const runs = await fetchRunChain(session.client, clusterWorkflowId(clusterId), 60_000);
          const times = events
            .of(clusterId)
            .filter((event) => event.generation !== null)
            .map((event) => event.timestampMs);
          const intervalMs = settings.intervalS * 1000;
          const grid = { phaseMs: refreshPhaseMs(clusterId, intervalMs), intervalMs };
          for (const cycle of cyclesIn(refreshCycles(runs, times, undefined, grid), windowStartMs, windowEndMs)) {
            if (cycle.timer_lag_ms !== null) timerLags.push(cycle.timer_lag_ms);
            if (cycle.slot_lag_ms !== null) slotLags.push(cycle.slot_lag_ms);
          }
          group.result.history_sampled += 1;
        } catch (err) {
          result.notes.push(`history of ${clusterId}: ${errorText(err)}`);
        }
      }
      group.result.timer_lag_ms = lagStats(timerLags);
      group.result.slot_lag_ms = lagStats(slotLags);
    }
    rss.stop();
    const readings = rss.readings();
    result.worker_rss_mb = { peak: readings.peak_mb, at_end: readings.last_mb };
  } catch (err) {
    result.errors.push(errorText(err));
    log(`mixed fleet failed: ${errorText(err)}`);
  } finally {
    await cleanup.undoTo(mark);
  }
  result.cleanup_problems = cleanup.problems.slice(problemsBefore);
  result.duration_s = Math.round((Date.now() - startedMs) / 1000);
  return result;
}
