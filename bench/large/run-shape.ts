/**
 * One shape of bench:large, on its own: a sim with one Kafka-like cluster of the shape, a fresh
 * worker and names of its own (task queue, database, topic, schedule, discovery), as
 * bench:fleet runs each size; the services are shared. In order:
 *
 * 1. first refresh: discovery applied → the workflow starts → the worker's fleetview_refreshes
 *    reaches 1 and every event of the refresh is on the topic (checked by id, in order, once);
 *    bounded by --first-refresh-timeout from the apply. When it does not complete, what was and
 *    was not reached is reported and the later phases are skipped (only the history and the
 *    view are still read).
 * 2. later refreshes over a window of whole intervals that starts half an interval after the
 *    second refresh completed (each refresh then completes inside it once): done ÷ due from
 *    fleetview_refreshes, lag from fleetview_refresh_lag and from the history's timers, CPU of
 *    every process group, Temporal's history per quiet refresh.
 * 3. the `view` query's answer and `fleetview view` (quiet cluster).
 * 4. detection: --faults brokers' datastores down and as many partitions' leaders moved,
 *    spread over one interval → NODE_DOWN / SHARD_PRIMARY_CHANGED on the topic.
 * 5. the whole history (every run): totals, the largest payload; blob-size warnings in the
 *    worker's and Temporal's logs since the shape started.
 * 6. the worker stopped, the bare poller on the same sim for a window of the same length.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { clusterWorkflowId } from '../../src/domain/ids.js';
import { refreshPhaseMs } from '../../src/domain/refresh-slots.js';
import type { Cleanup } from '../fleet/cleanup.js';
import { measureDetection, stateFault, type DetectionResult, type Fault } from '../fleet/detection.js';
import { applyDiscovery, runNames, scrapeWorker, startFleetview, type FleetviewNames, type FleetviewSession } from '../fleet/fleetview-run.js';
import { fetchRunChain } from '../fleet/history.js';
import { runPollerAnchor, type PollerResult } from '../fleet/poller-anchor.js';
import { delay } from '../fleet/processes.js';
import { counterTotal, histogram, histogramDelta, histogramQuantile } from '../fleet/prom-text.js';
import { serviceLogFile, type ServiceName } from '../fleet/services.js';
import { startSimProcess, type SimClusterSummary, type SimProcess } from '../fleet/sim-process.js';
import { ratio, round, sample, sum } from '../fleet/stats.js';
import { RssSampler, UsageWindow, type ProcessCost } from '../fleet/usage-window.js';
import { historyTotals, quietRefreshCost, refreshCycles, type HistoryTotals, type QuietRefreshCost } from './history-cost.js';
import { fileSize, grepFrom, type LogMatches } from './logs.js';
import { diagnoseFirstRefresh, refreshesCompleted, viewSizes, waitFor, workflowStartMs, type FirstRefreshDiagnosis, type ViewSizes } from './probes.js';
import { expectedFirstRefreshEvents, partitionsOf, shapeLabel, type ExpectedFirstRefresh, type Shape } from './shape.js';
import { checkRefreshEvents, ClusterEvents, firstGeneration, toTopicEvent, type RefreshCheck, type TopicEvent } from './topic-events.js';

export interface LargeSettings {
  intervalS: number;
  /** The window, rounded up to whole intervals. */
  measureS: number;
  tickS: number;
  discoveryIntervalS: number;
  faults: number;
  firstRefreshTimeoutS: number;
  poller: boolean;
  /** Seconds of the idle floor: the worker and the services with no cluster yet (0: not measured). */
  idleS: number;
}

export interface RunContext {
  cleanup: Cleanup;
  root: string;
  logDir: string;
  runId: string;
  servicePgids: Record<ServiceName, number | null>;
  log: (line: string) => void;
  /** With --worker-cpu-prof: each worker writes its CPU profile under this directory, in a folder named after its task queue. */
  workerCpuProfDir: string | null;
}

export type CpuGroup = 'worker' | 'temporal' | 'kafka' | 'store' | 'sim';
type IdleGroup = Exclude<CpuGroup, 'sim'>;
const idleGroups: IdleGroup[] = ['worker', 'temporal', 'kafka', 'store'];

export interface BlobWarnings {
  pattern: string;
  worker: LogMatches;
  temporal: LogMatches;
}

export interface ShapeResult {
  shape: string;
  nodes: number;
  shards_per_node: number;
  partitions: number;
  shard_copies: number;
  interval_s: number;
  cluster_id: string | null;
  names: FleetviewNames & { sim_id_prefix: string };
  /** ok: every phase ran; first_refresh_incomplete: the first refresh did not complete in time (later phases skipped); failed: a phase could not run. */
  status: 'ok' | 'first_refresh_incomplete' | 'failed';
  expected_first_refresh: (ExpectedFirstRefresh & { formula_shard_copies: number }) | null;
  first_refresh: {
    completed: boolean;
    timeout_s: number;
    workflow_started_s_after_apply: number | null;
    /** Workflow start → fleetview_refreshes ≥ 1 (polled every 0.5 s). */
    refresh_complete_s: number | null;
    /** Workflow start → the benchmark's consumer received the message that completed the refresh's events. */
    all_events_on_topic_s: number | null;
    cluster_new_on_topic: boolean;
    events: RefreshCheck | null;
    /** What was and was not reached when it did not complete. */
    diagnosis: FirstRefreshDiagnosis | null;
  };
  later_refreshes: {
    /** The window (epoch ms): whole intervals from half an interval after the second refresh completed. */
    window_start_ms: number;
    window_end_ms: number;
    window_s: number;
    intervals: number;
    done: number | null;
    due: number;
    done_ratio: number | null;
    metric_lag_p50_ms: number | null;
    metric_lag_p99_ms: number | null;
    duration_p50_ms: number | null;
    duration_p99_ms: number | null;
    node_observations_seen_by_sim: number;
    events_in_window: number;
    note: string | null;
  } | null;
  history: {
    quiet: QuietRefreshCost | null;
    totals: HistoryTotals | null;
    error: string | null;
  };
  blob_warnings: BlobWarnings | null;
  detection: { bound_s: number; node_down: DetectionResult; primary_changed: DetectionResult } | null;
  cpu: {
    window_s: number;
    costs: Record<CpuGroup, ProcessCost>;
    ms_per_node_refresh: Record<CpuGroup | 'fleetview_total', number | null>;
    /** What the window cost above the idle floor's rate, per node-refresh: the cluster's own cost. */
    above_idle_ms_per_node_refresh: Record<IdleGroup | 'fleetview_total', number | null> | null;
  } | null;
  /** The worker and the services before the cluster exists: what they cost doing nothing (their cores). */
  idle: { window_s: number; cores: Record<IdleGroup, number | null> } | null;
  poller: PollerResult | null;
  ratios: { worker_vs_poller: number | null; fleetview_total_vs_poller: number | null; fleetview_above_idle_vs_poller: number | null };
  worker_rss_mb: { peak: number | null; at_end: number | null };
  view: ViewSizes | null;
  errors: string[];
  notes: string[];
  cleanup_problems: string[];
  duration_s: number;
}

/** `large-<run>-<shape>-<interval>s`: every name of a shape's run, unique to it. */
export function shapeNames(runId: string, label: string, intervalS: number): FleetviewNames & { sim_id_prefix: string } {
  return runNames(`large-${runId}-${label}-${intervalS}s`);
}

/**
 * startFleetview with the topic read into `ClusterEvents` and the worker's RSS sampled from its
 * start (both undone with the session).
 */
export async function startWatchedFleetview(
  context: RunContext,
  logDir: string,
  names: FleetviewNames,
  settings: { intervalS: number; tickS: number },
): Promise<{ session: FleetviewSession; events: ClusterEvents; rss: RssSampler }> {
  const events = new ClusterEvents();
  const profileDir = context.workerCpuProfDir === null ? null : join(context.workerCpuProfDir, names.taskQueue);
  if (profileDir !== null) {
    mkdirSync(profileDir, { recursive: true });
    context.log(`worker CPU profile: ${profileDir} (written when the worker stops)`);
  }
  const session = await startFleetview({
    cleanup: context.cleanup,
    root: context.root,
    logDir,
    names,
    settings: { intervalS: settings.intervalS, tickS: settings.tickS, workerCpuProfDir: profileDir },
    log: context.log,
    onMessage: (value, meta) => {
      const event = toTopicEvent(value, meta);
      if (event) events.add(event);
    },
  });
  const rss = new RssSampler([session.worker.pgid]);
  rss.start();
  context.cleanup.add('stopping the RSS sampler', () => rss.stop());
  return { session, events, rss };
}

/** What every run result starts with: no errors, notes or cleanup problems yet. */
export function bookkeeping(): { errors: string[]; notes: string[]; cleanup_problems: string[]; duration_s: number } {
  return { errors: [], notes: [], cleanup_problems: [], duration_s: 0 };
}

/**
 * Payload size warnings: the SDK's "exceeded the warning limit", the server's blob size limits.
 * Not "exceeded 5 seconds" (core's note on a long workflow task, e.g. a large first refresh).
 */
export const blobPattern = /blob ?size|exceeded the warning limit|payload[^\n]*(too large|exceeds)/i;

/** The window: whole intervals, at least one. */
export function windowIntervals(measureS: number, intervalS: number): number {
  return Math.max(1, Math.ceil(measureS / intervalS));
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message.split('\n').slice(0, 6).join(' | ') : String(err));

export async function runShape(context: RunContext, shape: Shape, settings: LargeSettings): Promise<ShapeResult> {
  const { cleanup, log } = context;
  const startedMs = Date.now();
  const label = shapeLabel(shape);
  const names = shapeNames(context.runId, label, settings.intervalS);
  const partitions = partitionsOf(shape);
  const result: ShapeResult = {
    shape: label,
    nodes: shape.nodes,
    shards_per_node: shape.shardsPerNode,
    partitions,
    shard_copies: 0,
    interval_s: settings.intervalS,
    cluster_id: null,
    names,
    status: 'failed',
    expected_first_refresh: null,
    first_refresh: {
      completed: false,
      timeout_s: settings.firstRefreshTimeoutS,
      workflow_started_s_after_apply: null,
      refresh_complete_s: null,
      all_events_on_topic_s: null,
      cluster_new_on_topic: false,
      events: null,
      diagnosis: null,
    },
    later_refreshes: null,
    history: { quiet: null, totals: null, error: null },
    blob_warnings: null,
    detection: null,
    cpu: null,
    idle: null,
    poller: null,
    ratios: { worker_vs_poller: null, fleetview_total_vs_poller: null, fleetview_above_idle_vs_poller: null },
    worker_rss_mb: { peak: null, at_end: null },
    view: null,
    ...bookkeeping(),
  };
  const problemsBefore = cleanup.problems.length;
  const mark = cleanup.mark();
  const logDir = join(context.logDir, `${label}-${settings.intervalS}s`);
  log(`== ${label}: ${shape.nodes} nodes × ${shape.shardsPerNode} shard copies per node (${partitions} partitions), interval ${settings.intervalS} s, names ${names.taskQueue}`);
  try {
    mkdirSync(logDir, { recursive: true });
    const sim = await startSimProcess(context.root, logDir, 1, shape.nodes, names.sim_id_prefix, { kinds: ['kafka'], partitions });
    cleanup.add('stopping the sim', () => sim.group.stop(10_000));
    const clusterId = sim.clusterIds[0]!;
    result.cluster_id = clusterId;
    const summary = await sim.cluster(clusterId);
    result.shard_copies = summary.shards.reduce((total, shard) => total + shard.replicas.length, 0);
    const expected = expectedFirstRefreshEvents(shape.nodes, result.shard_copies);
    const formulaCopies = partitions * Math.min(3, shape.nodes);
    result.expected_first_refresh = { ...expected, formula_shard_copies: formulaCopies };
    if (formulaCopies !== result.shard_copies) result.notes.push(`the sim holds ${result.shard_copies} shard copies, the shape's formula ${formulaCopies}: the sim's count is expected`);
    log(`sim ready at ${sim.url}: cluster ${clusterId}, ${result.shard_copies} shard copies; the first refresh must publish ${expected.total} events`);

    try {
      await runFleetviewPhases(context, shape, settings, sim, summary, clusterId, expected, names, logDir, result);
    } catch (err) {
      result.errors.push(`fleetview: ${errorText(err)}`);
      log(`fleetview phase failed: ${errorText(err)}`);
    }

    if (settings.poller && result.first_refresh.completed && result.later_refreshes !== null) {
      log('bare poller on the same sim');
      try {
        result.poller = await runPollerAnchor(cleanup, context.root, logDir, sim, settings.intervalS, result.later_refreshes.window_s);
      } catch (err) {
        result.errors.push(`poller: ${errorText(err)}`);
      }
    } else if (!settings.poller) result.notes.push('bare poller not run (--no-poller)');
    else result.notes.push('bare poller not run: fleetview did not reach its window');
  } catch (err) {
    result.errors.push(errorText(err));
  } finally {
    await cleanup.undoTo(mark);
  }
  const cpu = result.cpu?.ms_per_node_refresh;
  const r = (a: number | null | undefined, b: number | null | undefined): number | null => round(ratio(a ?? null, b ?? null), 2);
  result.ratios = {
    worker_vs_poller: r(cpu?.worker, result.poller?.cpu_ms_per_node_poll),
    fleetview_total_vs_poller: r(cpu?.fleetview_total, result.poller?.cpu_ms_per_node_poll),
    fleetview_above_idle_vs_poller: r(result.cpu?.above_idle_ms_per_node_refresh?.fleetview_total, result.poller?.cpu_ms_per_node_poll),
  };
  result.status = result.errors.length > 0 ? 'failed' : result.first_refresh.completed ? 'ok' : 'first_refresh_incomplete';
  result.cleanup_problems = cleanup.problems.slice(problemsBefore);
  result.duration_s = Math.round((Date.now() - startedMs) / 1000);
  return result;
}

async function runFleetviewPhases(
  context: RunContext,
  shape: Shape,
  settings: LargeSettings,
  sim: SimProcess,
  summary: SimClusterSummary,
  clusterId: string,
  expected: ExpectedFirstRefresh,
  names: FleetviewNames,
  logDir: string,
  result: ShapeResult,
): Promise<void> {
  const { cleanup, log } = context;
  const mark = cleanup.mark();
  const temporalLog = serviceLogFile('temporal');
  const temporalLogOffset = fileSize(temporalLog);
  try {
    const { session, events, rss } = await startWatchedFleetview(context, logDir, names, settings);
    const workerGone = (): string | null => (session.worker.exited() ? `the worker exited:\n${session.worker.tail().split('\n').slice(-5).join('\n')}` : null);

    // 0. The idle floor: the worker (its discovery schedule ticking) and the services, no cluster yet.
    if (settings.idleS > 0) {
      log(`idle floor: the worker and the services with no cluster, ${settings.idleS} s`);
      const idle = new UsageWindow({ worker: session.worker.pgid, temporal: context.servicePgids.temporal, kafka: context.servicePgids.kafka, store: context.servicePgids.store });
      idle.start();
      await delay(settings.idleS * 1000);
      const { seconds, costs } = idle.end();
      result.idle = { window_s: round(seconds, 1)!, cores: Object.fromEntries(idleGroups.map((group) => [group, costs[group]?.cores ?? null])) as Record<IdleGroup, number | null> };
    }

    // 1. The first refresh.
    const { appliedMs } = await applyDiscovery(session, { root: context.root, logDir }, names.discovery, `${sim.url}/discovery`, settings.discoveryIntervalS);
    const deadlineMs = appliedMs + settings.firstRefreshTimeoutS * 1000;
    log(`discovery applied; waiting for the workflow and its first refresh (at most ${settings.firstRefreshTimeoutS} s from the apply)`);
    const reached: string[] = [];
    const started = await waitFor(`workflow ${clusterWorkflowId(clusterId)} to start`, deadlineMs - Date.now(), () => workflowStartMs(session.client, clusterId), workerGone);
    const workflowStart = started.value;
    if (workflowStart !== null) {
      result.first_refresh.workflow_started_s_after_apply = round((workflowStart - appliedMs) / 1000, 1);
      reached.push(`workflow started ${result.first_refresh.workflow_started_s_after_apply} s after the apply`);
    } else reached.push(`NOT reached: ${started.failure}`);

    let refreshCompleteMs: number | null = null;
    let check: RefreshCheck = checkRefreshEvents([], null, expected.total);
    if (workflowStart !== null) {
      await waitFor(
        `the first refresh of ${clusterId} (fleetview_refreshes ≥ 1 and its ${expected.total} events on the topic)`,
        deadlineMs - Date.now(),
        async () => {
          if (refreshCompleteMs === null && ((await refreshesCompleted(session)) ?? 0) >= 1) refreshCompleteMs = Date.now();
          const own = events.of(clusterId);
          check = checkRefreshEvents(own, firstGeneration(own), expected.total);
          return refreshCompleteMs !== null && check.missing === 0 ? true : null;
        },
        workerGone,
      );
    }
    result.first_refresh.events = check;
    result.first_refresh.cluster_new_on_topic = events.of(clusterId).some((event) => event.event === 'CLUSTER_NEW');
    result.first_refresh.completed = refreshCompleteMs !== null && check.missing === 0;
    if (workflowStart !== null && refreshCompleteMs !== null) result.first_refresh.refresh_complete_s = round((refreshCompleteMs - workflowStart) / 1000, 1);
    if (workflowStart !== null && check.completed_ms !== null) result.first_refresh.all_events_on_topic_s = round((check.completed_ms - workflowStart) / 1000, 1);

    if (!result.first_refresh.completed) {
      reached.push(`CLUSTER_NEW ${result.first_refresh.cluster_new_on_topic ? 'on' : 'NOT on'} the topic`);
      reached.push(`${check.distinct} of ${expected.total} first-refresh events on the topic (generation ${check.generation ?? 'none seen'}${check.duplicates ? `, ${check.duplicates} repeated` : ''})`);
      reached.push(refreshCompleteMs === null ? 'the refresh never completed (fleetview_refreshes stayed 0)' : `the refresh completed ${result.first_refresh.refresh_complete_s} s after the workflow start`);
      const diagnosis = await diagnoseFirstRefresh(session, clusterId, [`first refresh not complete within ${settings.firstRefreshTimeoutS} s of the discovery apply`, ...reached]);
      result.first_refresh.diagnosis = diagnosis;
      log(`FIRST REFRESH INCOMPLETE: ${diagnosis.summary}`);
      result.notes.push('later refreshes, CPU, detection and the bare poller not measured: the first refresh did not complete');
    } else {
      log(
        `first refresh: complete ${result.first_refresh.refresh_complete_s} s after the workflow start, all ${expected.total} events on the topic at ${result.first_refresh.all_events_on_topic_s} s` +
          `${check.complete_in_order_once ? ', in order, once' : ` (NOT in order once: ${check.out_of_order} out of order, ${check.duplicates} repeated, ${check.unexpected} unexpected)`}`,
      );
      await measureLaterRefreshes(context, settings, sim, session, clusterId, events, result);
      result.view = await viewSizes(session, context.root, clusterId);
      log(`view query ${result.view.query_bytes ?? result.view.query_error} bytes in ${result.view.query_ms ?? '–'} ms; fleetview view ${result.view.cli_stdout_bytes} bytes in ${result.view.cli_ms} ms`);
      result.detection = await detect(settings, sim, summary, clusterId, events, log);
    }
    if (result.view === null && workflowStart !== null) result.view = await viewSizes(session, context.root, clusterId);

    // 5. The whole history, and what the logs said about blob sizes.
    await readHistory(session, clusterId, events, result);
    result.blob_warnings = {
      pattern: blobPattern.source,
      worker: grepFrom(session.workerLogFile, 0, blobPattern),
      temporal: grepFrom(temporalLog, temporalLogOffset, blobPattern),
    };
    rss.stop();
    const readings = rss.readings();
    result.worker_rss_mb = { peak: readings.peak_mb, at_end: readings.last_mb };
  } finally {
    await cleanup.undoTo(mark);
  }
}

async function measureLaterRefreshes(context: RunContext, settings: LargeSettings, sim: SimProcess, session: FleetviewSession, clusterId: string, events: ClusterEvents, result: ShapeResult): Promise<void> {
  const { log } = context;
  const intervalMs = settings.intervalS * 1000;
  const intervals = windowIntervals(settings.measureS, settings.intervalS);
  const second = await waitFor('the second refresh (fleetview_refreshes ≥ 2)', 2 * intervalMs + 30_000, async () => (((await refreshesCompleted(session)) ?? 0) >= 2 ? true : null), () =>
    session.worker.exited() ? 'the worker exited' : null,
  );
  let note: string | null = null;
  if (second.value === null) {
    note = `${second.failure}: the window started at once`;
    log(note);
  } else await delay(intervalMs / 2);
  log(`measuring later refreshes over ${intervals} interval(s) (${intervals * settings.intervalS} s)`);
  const usage = new UsageWindow({
    worker: session.worker.pgid,
    temporal: context.servicePgids.temporal,
    kafka: context.servicePgids.kafka,
    store: context.servicePgids.store,
    sim: sim.group.pgid,
  });
  const before = await scrapeWorker(session.metricsPort);
  const requestsBefore = await sim.nodeRequests();
  usage.start();
  const windowStartMs = Date.now();
  await delay(intervals * intervalMs);
  const { seconds, costs } = usage.end();
  const windowEndMs = Date.now();
  const after = await scrapeWorker(session.metricsPort);
  const observations = ((await sim.nodeRequests()) - requestsBefore) / 3;
  const total = (samples: typeof before): number | null => (samples.length === 0 ? null : (counterTotal(samples, 'fleetview_refreshes') ?? 0));
  const doneAfter = total(after);
  const doneBefore = total(before);
  const done = doneAfter === null || doneBefore === null ? null : doneAfter - doneBefore;
  const lag = histogramDelta(histogram(before, 'fleetview_refresh_lag'), histogram(after, 'fleetview_refresh_lag'));
  const duration = histogramDelta(histogram(before, 'fleetview_refresh_duration'), histogram(after, 'fleetview_refresh_duration'));
  result.later_refreshes = {
    window_start_ms: windowStartMs,
    window_end_ms: windowEndMs,
    window_s: round(seconds, 1)!,
    intervals,
    done,
    due: intervals,
    done_ratio: round(ratio(done, intervals), 3),
    metric_lag_p50_ms: round(histogramQuantile(lag, 0.5), 1),
    metric_lag_p99_ms: round(histogramQuantile(lag, 0.99), 1),
    duration_p50_ms: round(histogramQuantile(duration, 0.5), 1),
    duration_p99_ms: round(histogramQuantile(duration, 0.99), 1),
    node_observations_seen_by_sim: Math.round(observations),
    events_in_window: events.of(clusterId).filter((event) => event.receivedMs >= windowStartMs && event.receivedMs < windowEndMs).length,
    note,
  };
  const nodeRefreshes = done === null ? null : done * result.nodes;
  const per = (cpu: number | null): number | null => round(ratio(cpu, nodeRefreshes === null ? null : nodeRefreshes / 1000), 3);
  const c = costs as Record<CpuGroup, ProcessCost>;
  result.cpu = {
    window_s: round(seconds, 1)!,
    costs: c,
    ms_per_node_refresh: {
      worker: per(c.worker.cpu_s),
      temporal: per(c.temporal.cpu_s),
      kafka: per(c.kafka.cpu_s),
      store: per(c.store.cpu_s),
      sim: per(c.sim.cpu_s),
      fleetview_total: per(sum([c.worker.cpu_s, c.temporal.cpu_s, c.kafka.cpu_s, c.store.cpu_s])),
    },
    above_idle_ms_per_node_refresh: null,
  };
  const idle = result.idle;
  if (idle !== null) {
    const above = (group: IdleGroup): number | null => {
      const cpu = c[group].cpu_s;
      const cores = idle.cores[group];
      return cpu === null || cores === null ? null : cpu - cores * seconds;
    };
    result.cpu.above_idle_ms_per_node_refresh = {
      worker: per(above('worker')),
      temporal: per(above('temporal')),
      kafka: per(above('kafka')),
      store: per(above('store')),
      fleetview_total: per(sum(idleGroups.map(above))),
    };
  }
  log(`window: ${done ?? '?'} of ${intervals} due refreshes done; worker ${result.cpu.ms_per_node_refresh.worker ?? '?'} CPU ms per node-refresh`);
}

async function readHistory(session: FleetviewSession, clusterId: string, events: ClusterEvents, result: ShapeResult): Promise<void> {
  try {
    const runs = await fetchRunChain(session.client, clusterWorkflowId(clusterId), 120_000);
    result.history.totals = historyTotals(runs);
    const window = result.later_refreshes;
    if (window) {
      const refreshTimes = events
        .of(clusterId)
        .filter((event: TopicEvent) => event.generation !== null && Number.isFinite(event.timestampMs))
        .map((event) => event.timestampMs);
      const intervalMs = result.interval_s * 1000;
      const grid = { phaseMs: refreshPhaseMs(clusterId, intervalMs), intervalMs };
      result.history.quiet = quietRefreshCost(refreshCycles(runs, refreshTimes, undefined, grid), window.window_start_ms, window.window_end_ms);
    }
  } catch (err) {
    result.history.error = errorText(err);
  }
}

/** Datastores of brokers down and leaders of partitions moved (none of them on those brokers), spread over one interval, at once. */
async function detect(settings: LargeSettings, sim: SimProcess, summary: SimClusterSummary, clusterId: string, events: ClusterEvents, log: (line: string) => void): Promise<ShapeResult['detection']> {
  const nodes = sample(
    sim.nodes.filter((node) => node.clusterId === clusterId),
    Math.min(settings.faults, Math.max(1, Math.floor(summary.nodes.length / 4))),
  );
  const nameOf = new Map(summary.nodes.map((node) => [node.url, node.node]));
  const downNames = new Set(nodes.map((node) => nameOf.get(node.address)));
  const movable = summary.shards.filter((shard) => shard.primary !== null && shard.replicas.length > 1 && shard.replicas.every((replica) => !downNames.has(replica)));
  const moves = sample(movable, settings.faults);
  const boundS = settings.intervalS + 5;
  log(`detection: ${nodes.length} broker datastore(s) down and ${moves.length} partition leader(s) moved, spread over ${settings.intervalS} s (goal: within ${boundS} s)`);
  const sinceMs = Date.now();
  const waitAfterLastS = 3 * settings.intervalS + 10;
  const nodeFaults: Fault[] = nodes.map((node) =>
    stateFault(sim, node, { datastore: 'down' }, { datastore: 'up' }, () => events.first(clusterId, sinceMs, (event) => event.event === 'NODE_DOWN' && event.address === node.address)?.receivedMs),
  );
  const moveFaults: Fault[] = moves.map((shard) => {
    const to = shard.replicas.find((replica) => replica !== shard.primary)!;
    return {
      inject: () => sim.failover(clusterId, to, shard.id),
      undo: () => sim.failover(clusterId, shard.primary!, shard.id),
      reportedAt: () => events.first(clusterId, sinceMs, (event) => event.event === 'SHARD_PRIMARY_CHANGED' && event.shardId === shard.id)?.receivedMs,
    };
  });
  // The moves start half a spacing after the first datastore goes down: the two kinds land at different phases of the refresh cycle.
  const halfSpacingMs = (settings.intervalS * 1000) / Math.max(1, nodeFaults.length) / 2;
  const [nodeDown, primaryChanged] = await Promise.all([
    measureDetection(nodeFaults, settings.intervalS, waitAfterLastS),
    delay(halfSpacingMs).then(() => measureDetection(moveFaults, settings.intervalS, waitAfterLastS)),
  ]);
  log(`NODE_DOWN max ${nodeDown.max_s ?? '–'} s (missed ${nodeDown.missed}), SHARD_PRIMARY_CHANGED max ${primaryChanged.max_s ?? '–'} s (missed ${primaryChanged.missed})`);
  return { bound_s: boundS, node_down: nodeDown, primary_changed: primaryChanged };
}
