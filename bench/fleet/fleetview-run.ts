/**
 * fleetview on one sim fleet, run as users run it: one worker process, or `--workers N` on one
 * task queue (`node --import tsx src/worker.ts`, `npm start`; bench/fleet/workers.ts),
 * `fleetview start` for the topic, indexes and discovery schedule, and `fleetview discovery
 * apply` of an http discovery over the sim's /discovery; every name unique to the run, every
 * service the Temporal profile's (`--temporal`, bench/fleet/temporal-profile.ts).
 *
 * What is read, chosen to keep working when the workflow and the store layout change:
 * - onboarding from the events topic (AGENT_NEW per node) and the worker's refresh counter;
 * - detection from the events topic (NODE_DOWN, AGENT_DOWN);
 * - refreshes, lag and duration from the workers' Prometheus metrics (`fleetview_refreshes`,
 *   `fleetview_refresh_lag`, `fleetview_refresh_duration`), as differences over the window,
 *   summed over the workers (and kept per worker);
 * - Temporal's cost per refresh from a sample of cluster workflow histories, counted per timer
 *   cycle (see historyCost);
 * - store commands from the server's own counters (the worker's driver cannot be hooked from
 *   outside its process);
 * - CPU and RSS of every process group from /proc: each worker's, summed as `worker`.
 * Every wait is bounded; a fleet that cannot keep up is measured all the same and its stall
 * described (diagnoseStall).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { MongoClient } from 'mongodb';
import { openClients, type KafkaClient } from '../../src/adapters/clients.js';
import { loadConfig, type Config } from '../../src/config.js';
import { clusterWorkflowId } from '../../src/domain/ids.js';
import type { Cleanup } from './cleanup.js';
import { measureDetection, stateFault, type DetectionResult } from './detection.js';
import { findDiscoveryRunEnd } from './discovery-run.js';
import { eventTimeMs, type HistoryEventShape } from './history.js';
import { delay } from './processes.js';
import { counterTotal, gaugeTotal, histogram, histogramDelta, histogramQuantile, parsePromText, type Sample } from './prom-text.js';
import type { SimProcess } from './sim-process.js';
import { ratio, round, sample, sum } from './stats.js';
import type { TemporalKind } from './services.js';
import { postgresActivity, postgresWrites, serviceChanges, type ServiceGroups } from './temporal-profile.js';
import { terminateTaskQueueWorkflows } from './terminate.js';
import { TopicReader } from './topic-reader.js';
import { RssSampler, UsageWindow, type Groups, type ProcessCost } from './usage-window.js';
import { anyWorkerAlive, startWorkers, waitForWorkers, type WorkerProcess } from './workers.js';

export interface FleetviewNames {
  taskQueue: string;
  database: string;
  topic: string;
  scheduleId: string;
  discovery: string;
  consumerGroup: string;
}

/** Every name of a run, from its tag: task queue, database, topic, schedule, discovery, reader group, the sim's id prefix. */
export function runNames(tag: string): FleetviewNames & { sim_id_prefix: string } {
  return {
    taskQueue: tag,
    database: tag.replace(/-/g, '_'),
    topic: `${tag}.events`,
    scheduleId: `${tag}-discovery`,
    discovery: tag,
    consumerGroup: `${tag}-reader`,
    sim_id_prefix: `${tag}-`,
  };
}

export interface FleetviewSettings {
  intervalS: number;
  measureS: number;
  tickS: number;
  discoveryIntervalS: number;
  onboardingTimeoutS: number;
  faults: number;
  historySample: number;
  /** With --worker-cpu-prof: where this run's worker writes its CPU profile (the directory exists; several workers: a sub-folder each). */
  workerCpuProfDir: string | null;
  /** Worker processes on the run's task queue (--workers). */
  workers: number;
  /** --window-after-onboarding: the steady-state window starts one interval after onboarding completed, not after the discovery run. */
  windowAfterOnboarding?: boolean;
  /** Which Temporal the run is on (--temporal; default dev): the cluster profile's persistence writes are counted. */
  temporal?: TemporalKind;
}

export interface FleetviewContext {
  cleanup: Cleanup;
  root: string;
  logDir: string;
  sim: SimProcess;
  names: FleetviewNames;
  settings: FleetviewSettings;
  /** The Temporal profile's FLEETVIEW_* settings (SessionContext's). */
  serviceEnv?: Record<string, string>;
  /** The services' process groups now (temporal-profile.ts), read when the window starts and ends; postgres only on the cluster profile. */
  serviceGroups: () => ServiceGroups;
  log: (line: string) => void;
}

/** One worker's figures over the window (refreshes, CPU) and the whole run (RSS peak). */
export interface WorkerFigures {
  /** 1-based; its log is worker-N.log (worker.log when it is the only one). */
  worker: number;
  pgid: number;
  metrics_port: number;
  /** Its fleetview_refreshes over the window; null when its endpoint did not answer. */
  refreshes_done: number | null;
  /** Its share of the refreshes all workers did. */
  refreshes_share: number | null;
  cost: ProcessCost;
  /** Its CPU ÷ its own node-refreshes (refreshes done × nodes per cluster). */
  cpu_ms_per_node_refresh: number | null;
  /** Largest RSS of its own process from its start to the end of detection, read every second. */
  rss_peak_mb: number | null;
  /** The median of those readings over the steady-state window. */
  rss_window_median_mb: number | null;
  /** Its RSS every 10 s from its start to the end of detection (the first reading at or after each mark). */
  rss_every_10s_mb: number[];
  /** How it ended, when it exited before the benchmark stopped it. */
  exited: string | null;
}

export interface HistoryCost {
  method: string;
  sampled_workflows: number;
  /** Refresh cycles counted over the sample. */
  cycles: number;
  events_per_refresh: number | null;
  workflow_tasks_per_refresh: number | null;
  activity_tasks_per_refresh: number | null;
  local_activity_markers_per_refresh: number | null;
}

export interface StoreCost {
  source: string | null;
  note: string;
  commands: number | null;
  commands_per_refresh: number | null;
  by_command: Record<string, number> | null;
}

export interface FleetviewResult {
  onboarding: {
    completed: boolean;
    /** From the discovery applied to every node's AGENT_NEW published and one refresh completed per cluster. */
    seconds: number | null;
    /** From the discovery applied to the last node's AGENT_NEW (the first refreshes' events). */
    every_agent_new_s: number | null;
    timeout_s: number;
    /** Clusters whose every node's AGENT_NEW was published. */
    clusters_onboarded: number;
    nodes_seen: number;
    /** fleetview_refreshes when onboarding ended (completed refreshes, views saved). */
    refreshes_completed: number;
    cpu: OnboardingCpu;
  };
  /** Where the steady-state window started (see windowStartRule). */
  window_start: WindowStart;
  window_s: number;
  refreshes: {
    done: number | null;
    due: number;
    done_ratio: number | null;
    lag_p50_ms: number | null;
    lag_p99_ms: number | null;
    duration_p50_ms: number | null;
    duration_p99_ms: number | null;
    /** Agent API calls the sim served in the window ÷ 3: node observations, a cross-check of done × nodes. */
    node_observations_seen_by_sim: number;
  };
  detection: { datastore_down: DetectionResult; agent_down: DetectionResult };
  /**
   * worker: every worker summed (CPU, cores, RSS at the window's end; largest_process_rss_mb: the
   * workers' own processes summed). temporal: every Temporal process (the cluster profile's
   * frontend, histories, matching and worker service); postgres: the cluster profile's
   * PostgreSQL, null on the dev server (its SQLite is inside its process).
   */
  costs: Record<'worker' | 'sim' | 'temporal' | 'postgres' | 'kafka' | 'store', ProcessCost>;
  /** CPU milliseconds per node-refresh (refreshes done × nodes per cluster); fleetview_total: worker + Temporal + PostgreSQL (cluster) + Kafka + store. */
  cpu_ms_per_node_refresh: Record<'worker' | 'sim' | 'temporal' | 'postgres' | 'kafka' | 'store' | 'fleetview_total', number | null>;
  /** Worker processes on the task queue. */
  worker_count: number;
  workers: WorkerFigures[];
  /** The workers' RSS peaks summed (each its own peak, not necessarily at the same moment). */
  worker_rss_peak_mb: number | null;
  /** The workers' RSS medians over the window summed. */
  worker_rss_window_median_mb: number | null;
  /** Services whose processes changed during the window (a restart, by a test or a crash): their costs are null. */
  service_changes: string[];
  temporal: HistoryCost;
  /** Temporal's PostgreSQL writes over the window (cluster profile only), per database. */
  persistence: ReturnType<typeof postgresWrites>;
  store: StoreCost;
  events: { in_window: number; per_refresh: number | null; published_metric_delta: number | null };
  stalled: boolean;
  stall: StallReport | null;
}

export const windowStartRule =
  'one refresh interval after the discovery run that ran the applied discovery ended (its Temporal close time; the first completed run of the discovery schedule whose result lists the discovery), or at once if that is past; onboarding is measured meanwhile and may end inside the window. If that run is not found within the onboarding timeout: one interval after onboarding completed (at once if it did not), with a note. With --window-after-onboarding: one interval after onboarding completed';

export interface WindowStart {
  /**
   * discovery_run: the rule above; onboarding_fallback: the run was not found, the window started
   * after onboarding; after_onboarding: --window-after-onboarding, one interval after onboarding.
   */
  rule: 'discovery_run' | 'onboarding_fallback' | 'after_onboarding';
  discovery_run: { workflow_id: string; run_id: string } | null;
  /** Seconds from `fleetview discovery apply` returning; negative when the run ended while the CLI was still running. */
  discovery_run_end_s: number | null;
  window_start_s: number;
  note: string | null;
}

export interface StallReport {
  summary: string;
  worker_alive: boolean;
  task_slots_used: Record<string, number | null>;
  workflow_task_schedule_to_start_p99_ms: number | null;
  activity_schedule_to_start_p99_ms: number | null;
  backlog: { workflow: number | null; activity: number | null };
  pending_activities: { sampled_workflows: number; pending: number; max_attempt: number; last_failures: string[] };
  store_probe: string;
}

const callsPerNodeObservation = 3;
/** Below this share of due refreshes done, a size is reported as not keeping up. */
const keepingUpRatio = 0.9;

/** What startFleetview brought up for one run: clients, the workers, the topic reader. */
export interface FleetviewSession {
  /** The workers' and the CLI's environment: the run's names and settings, the Temporal profile's services. */
  env: NodeJS.ProcessEnv;
  config: Config;
  client: Client;
  mongo: MongoClient;
  /** Every worker process (one unless settings.workers says more). */
  workers: WorkerProcess[];
  /** The first worker's group, log and metrics port (the whole of it with one worker). */
  worker: WorkerProcess['group'];
  workerLogFile: string;
  metricsPort: number;
  reader: TopicReader;
  /** Discoveries applied through applyDiscovery: deleted when the session is undone. */
  discoveries: string[];
}

export interface SessionContext {
  cleanup: Cleanup;
  root: string;
  logDir: string;
  names: FleetviewNames;
  settings: Pick<FleetviewSettings, 'intervalS' | 'tickS' | 'workerCpuProfDir'> & Partial<Pick<FleetviewSettings, 'workers'>>;
  /** The Temporal profile's FLEETVIEW_* settings (temporal-profile.ts profileEnv), under the run's names. */
  serviceEnv?: Record<string, string>;
  log: (line: string) => void;
  /** Every message of the topic, parsed, with where it was read (TopicReader's onMessage). */
  onMessage?: ConstructorParameters<typeof TopicReader>[3];
}

/**
 * fleetview for one run: the workers on the run's task queue (metrics each on a free port),
 * `fleetview start`, a reader of the run's topic from its beginning. Every step registers its
 * undo on `context.cleanup` at once (the caller undoes them with its mark): reader, schedule and
 * the run's workflows, workers, the discoveries applied, the run's database and topic, the clients.
 */
export async function startFleetview(context: SessionContext): Promise<FleetviewSession> {
  const { cleanup, names, settings, log } = context;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...context.serviceEnv,
    FLEETVIEW_TASK_QUEUE: names.taskQueue,
    FLEETVIEW_MONGODB_DATABASE: names.database,
    FLEETVIEW_EVENTS_TOPIC: names.topic,
    FLEETVIEW_DISCOVERY_SCHEDULE_ID: names.scheduleId,
    FLEETVIEW_REFRESH_INTERVAL_S: String(settings.intervalS),
    FLEETVIEW_DISCOVERY_TICK_S: String(settings.tickS),
    FLEETVIEW_LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);
  const clients = openClients(config);
  cleanup.add('closing the benchmark clients', () => clients.close());
  const client = await clients.temporal();
  // The store's own client: the benchmark reads server counters and drops the run's database with it.
  const mongo = (await clients.clusterStore()).db.client;
  const kafka = clients.kafka();
  // Registered first, so undone last: what fleetview stored, once nothing writes any more.
  cleanup.add(`dropping database ${names.database}, deleting topic ${names.topic}`, () => dropStoredState(kafka, mongo, names));
  const discoveries: string[] = [];
  cleanup.add(`deleting the run's discoveries`, async () => {
    for (const discovery of discoveries) {
      const { code, output } = await runCli(context.root, env, ['discovery', 'delete', discovery], 30_000);
      // 3: not found, e.g. the run stopped before applying it. A store too busy to answer (a stalled
      // size) is no leftover: the discovery lives in the run's database, dropped next and checked.
      if (code !== 0 && code !== 3) log(`fleetview discovery delete ${discovery} exited ${code} (${output.split('\n')[0] || 'no output: killed after 30 s'}); the database drop removes it`);
    }
  });

  const count = settings.workers ?? 1;
  log(`${count === 1 ? 'worker' : `${count} workers`} on task queue ${names.taskQueue}, Temporal ${config.temporal.address}`);
  const workers = await startWorkers({
    cleanup,
    root: context.root,
    logDir: context.logDir,
    env,
    count,
    profileDir: settings.workerCpuProfDir,
    log,
    // Runs started while the workers were stopping.
    afterStop: () => terminateTaskQueueWorkflows(client, config.temporal.namespace, names.taskQueue, 'the benchmark finished'),
  });
  await waitForWorkers(client, config, workers);
  const first = workers[0]!;

  await runCliOrThrow(context.root, env, ['start'], 120_000);
  cleanup.add(`deleting schedule ${names.scheduleId}, terminating the run's workflows`, async () => {
    await client.schedule
      .getHandle(names.scheduleId)
      .delete()
      .catch((err: unknown) => {
        if (!/not found/i.test(String(err))) throw err;
      });
    await terminateTaskQueueWorkflows(client, config.temporal.namespace, names.taskQueue, 'the benchmark finished');
  });

  const reader = new TopicReader(kafka, names.topic, names.consumerGroup, context.onMessage);
  await reader.start();
  cleanup.add('stopping the topic reader', () => reader.stop());
  return { env, config, client, mongo, workers, worker: first.group, workerLogFile: first.logFile, metricsPort: first.metricsPort, reader, discoveries };
}

/**
 * `fleetview discovery apply` of an http discovery named `discovery` over `url` (a sim's
 * /discovery), deleted when the session is undone. Returns when the CLI started and returned.
 */
export async function applyDiscovery(
  session: FleetviewSession,
  context: Pick<SessionContext, 'root' | 'logDir'>,
  discovery: string,
  url: string,
  intervalS: number,
): Promise<{ applyStartedMs: number; appliedMs: number }> {
  const discoveryFile = join(context.logDir, `${discovery}.yaml`);
  writeFileSync(discoveryFile, [`name: ${discovery}`, 'backend: http', `interval: ${intervalS}`, 'options:', `  url: ${url}`, ''].join('\n'));
  session.discoveries.push(discovery);
  const applyStartedMs = Date.now();
  await runCliOrThrow(context.root, session.env, ['discovery', 'apply', '-f', discoveryFile], 120_000);
  return { applyStartedMs, appliedMs: Date.now() };
}

export async function runFleetview(context: FleetviewContext): Promise<FleetviewResult> {
  const { cleanup, sim, names, settings, log } = context;
  const mark = cleanup.mark();
  try {
    const session = await startFleetview(context);
    const { config, client, mongo, workers, reader } = session;
    // Over the whole run, not only the window: a worker's memory peaks while it onboards.
    const rss = new RssSampler(workers.map((worker) => worker.group.pgid));
    rss.start();
    cleanup.add('stopping the RSS sampler', () => rss.stop());
    const workerKey = (worker: WorkerProcess): string => `worker-${worker.index}`;
    const usageGroups = (services: ServiceGroups): Record<string, Groups> => ({
      ...Object.fromEntries(workers.map((worker) => [workerKey(worker), worker.group.pgid])),
      sim: sim.group.pgid,
      temporal: services.temporal,
      postgres: services.postgres,
      kafka: services.kafka,
      store: services.store,
    });
    // Onboarding's CPU, from just before the apply to the moment onboarding is seen complete.
    const onboardingServices = context.serviceGroups();
    const onboardingUsage = new UsageWindow(usageGroups(onboardingServices));
    onboardingUsage.start();
    const { applyStartedMs, appliedMs } = await applyDiscovery(session, context, names.discovery, `${sim.url}/discovery`, settings.discoveryIntervalS);
    log(`discovery ${names.discovery} applied (http over ${sim.url}/discovery); waiting for every node's AGENT_NEW (at most ${settings.onboardingTimeoutS} s)`);

    // Measured beside the window, not before it: onboarding may end inside the window.
    const onboardingDone = waitForOnboarding(reader, sim, workers, appliedMs, settings.onboardingTimeoutS).then((measured) => {
      const withPostgres = onboardingServices.postgres !== null;
      const onboarding = { ...measured, cpu: onboardingCpu(onboardingUsage.end(), workers.map(workerKey), withPostgres, sim.clusterIds.length) };
      log(
        onboarding.completed
          ? `onboarded in ${onboarding.seconds} s, ${onboarding.cpu.all_ms_per_cluster} ms of CPU per cluster (${Object.entries(onboarding.cpu.cpu_s)
              .filter(([, value]) => value !== null)
              .map(([name, value]) => `${name} ${value} s`)
              .join(', ')})`
          : `onboarding incomplete after ${settings.onboardingTimeoutS} s: AGENT_NEW of ${onboarding.nodes_seen}/${sim.nodes.length} nodes (${onboarding.clusters_onboarded}/${sim.clusterIds.length} clusters), ${onboarding.refreshes_completed} refreshes completed`,
      );
      return onboarding;
    });
    const windowRule = await waitForWindowStart(client, names, settings, workers, applyStartedMs, appliedMs, onboardingDone, log);
    log(`measuring the steady state for ${settings.measureS} s`);
    const services = context.serviceGroups();
    const usage = new UsageWindow(usageGroups(services));
    // Per worker; summed over the workers by reading their samples as one endpoint's.
    const scrapesBefore = await scrapeWorkers(workers);
    const metricsBefore = scrapesBefore.flat();
    const storeBefore = workerStoreCommands(metricsBefore) ?? (await storeCommandCounts(mongo));
    const requestsBefore = await sim.nodeRequests();
    const postgresBefore = postgresActivity(settings.temporal ?? 'dev');
    usage.start();
    const windowStartMs = Date.now();
    await delay(settings.measureS * 1000);
    const { seconds, costs } = usage.end();
    const windowEndMs = Date.now();
    const servicesChanged = serviceChanges(services, context.serviceGroups());
    for (const change of servicesChanged) log(change);
    const scrapesAfter = await scrapeWorkers(workers);
    const metricsAfter = scrapesAfter.flat();
    const storeAfter = workerStoreCommands(metricsAfter) ?? (await storeCommandCounts(mongo));
    const postgresAfter = postgresActivity(settings.temporal ?? 'dev');
    const observations = ((await sim.nodeRequests()) - requestsBefore) / callsPerNodeObservation;
    // Bounded by its own timeout: once the window is over, onboarding is either done or still has that long.
    const onboarding = await onboardingDone;

    // A worker whose endpoint did not answer leaves the sum unknown, not smaller.
    const refreshesByWorker = workers.map((_, i) =>
      delta(counterTotal(scrapesAfter[i]!, 'fleetview_refreshes'), counterTotal(scrapesBefore[i]!, 'fleetview_refreshes'), scrapesAfter[i]!.length > 0),
    );
    const refreshesDone = sum(refreshesByWorker);
    const due = (sim.clusterIds.length * seconds) / settings.intervalS;
    const lag = histogramDelta(histogram(metricsBefore, 'fleetview_refresh_lag'), histogram(metricsAfter, 'fleetview_refresh_lag'));
    const duration = histogramDelta(histogram(metricsBefore, 'fleetview_refresh_duration'), histogram(metricsAfter, 'fleetview_refresh_duration'));
    const nodesPerCluster = sim.nodes.length / sim.clusterIds.length;
    const nodeRefreshes = refreshesDone === null ? null : refreshesDone * nodesPerCluster;
    const perNodeRefresh = (cpu: number | null): number | null => round(ratio(cpu, nodeRefreshes === null ? null : nodeRefreshes / 1000), 3);
    const eventsInWindow = reader.countBetween(windowStartMs, windowEndMs);

    const onboarded = onboardedClusters(reader, sim);
    const temporal = await historyCost(client, sample(onboarded, settings.historySample), windowEndMs);
    const store = storeCost(storeBefore, storeAfter, refreshesDone);
    const doneRatio = ratio(refreshesDone, due);
    const stalled = !onboarding.completed || doneRatio === null || doneRatio < keepingUpRatio;
    const stall = stalled
      ? await diagnoseStall(client, config, mongo, workers, metricsBefore, metricsAfter, sample(sim.clusterIds, 3), onboarding, refreshesDone, due)
      : null;
    if (stall) log(`not keeping up: ${stall.summary}`);

    log(`detection: ${settings.faults} datastores and ${settings.faults} agents set down, spread over ${settings.intervalS} s`);
    const faulted = sample(sim.nodes, 2 * settings.faults);
    const detectionStartMs = Date.now();
    const waitAfterLastS = 3 * settings.intervalS + 10;
    const [datastoreDown, agentDown] = await Promise.all([
      measureDetection(
        faulted
          .slice(0, settings.faults)
          .map((node) => stateFault(sim, node, { datastore: 'down' }, { datastore: 'up' }, () => reader.firstByAddress('NODE_DOWN', detectionStartMs).get(node.address))),
        settings.intervalS,
        waitAfterLastS,
      ),
      measureDetection(
        faulted.slice(settings.faults).map((node) => stateFault(sim, node, { agent: 'down' }, { agent: 'up' }, () => reader.firstByAddress('AGENT_DOWN', detectionStartMs).get(node.address))),
        settings.intervalS,
        waitAfterLastS,
      ),
    ]);
    rss.stop();

    const workerFigures: WorkerFigures[] = [];
    for (const [i, worker] of workers.entries()) {
      const done = refreshesByWorker[i]!;
      const cost = costs[workerKey(worker)]!;
      workerFigures.push({
        worker: worker.index,
        pgid: worker.group.pgid,
        metrics_port: worker.metricsPort,
        refreshes_done: done,
        refreshes_share: round(ratio(done, refreshesDone), 3),
        cost,
        cpu_ms_per_node_refresh: round(ratio(cost.cpu_s, done === null ? null : (done * nodesPerCluster) / 1000), 3),
        rss_peak_mb: rss.readings(worker.group.pgid).peak_mb,
        rss_window_median_mb: rss.medianBetween(worker.group.pgid, windowStartMs, windowEndMs),
        rss_every_10s_mb: rss.series(worker.group.pgid, 10),
        exited: worker.group.exited() ? await worker.group.exit : null,
      });
    }
    const workerCost = sumCosts(workerFigures.map((figures) => figures.cost));
    // PostgreSQL counts where it runs (the cluster profile); the dev server has none to add.
    const withPostgres = services.postgres !== null;
    const servicesCpu = [costs.temporal!.cpu_s, ...(withPostgres ? [costs.postgres!.cpu_s] : []), costs.kafka!.cpu_s, costs.store!.cpu_s];

    return {
      onboarding,
      window_start: { ...windowRule, window_start_s: round((windowStartMs - appliedMs) / 1000, 1)! },
      window_s: round(seconds, 1)!,
      refreshes: {
        done: refreshesDone,
        due: round(due, 1)!,
        done_ratio: round(doneRatio, 3),
        lag_p50_ms: round(histogramQuantile(lag, 0.5), 1),
        lag_p99_ms: round(histogramQuantile(lag, 0.99), 1),
        duration_p50_ms: round(histogramQuantile(duration, 0.5), 1),
        duration_p99_ms: round(histogramQuantile(duration, 0.99), 1),
        node_observations_seen_by_sim: Math.round(observations),
      },
      detection: { datastore_down: datastoreDown, agent_down: agentDown },
      costs: { worker: workerCost, sim: costs.sim!, temporal: costs.temporal!, postgres: costs.postgres!, kafka: costs.kafka!, store: costs.store! },
      cpu_ms_per_node_refresh: {
        worker: perNodeRefresh(workerCost.cpu_s),
        sim: perNodeRefresh(costs.sim!.cpu_s),
        temporal: perNodeRefresh(costs.temporal!.cpu_s),
        postgres: perNodeRefresh(costs.postgres!.cpu_s),
        kafka: perNodeRefresh(costs.kafka!.cpu_s),
        store: perNodeRefresh(costs.store!.cpu_s),
        fleetview_total: perNodeRefresh(sum([workerCost.cpu_s, ...servicesCpu])),
      },
      worker_count: workers.length,
      workers: workerFigures,
      worker_rss_peak_mb: round(sum(workerFigures.map((figures) => figures.rss_peak_mb)), 1),
      worker_rss_window_median_mb: round(sum(workerFigures.map((figures) => figures.rss_window_median_mb)), 1),
      service_changes: servicesChanged,
      temporal,
      // Temporal's persistence on the cluster profile (pg_stat_database; server-wide: every client of the database counts).
      persistence: postgresWrites(postgresBefore, postgresAfter, refreshesDone),
      store,
      events: {
        in_window: eventsInWindow,
        per_refresh: round(ratio(eventsInWindow, refreshesDone), 3),
        published_metric_delta: delta(counterTotal(metricsAfter, 'fleetview_events_published'), counterTotal(metricsBefore, 'fleetview_events_published'), metricsAfter.length > 0),
      },
      stalled,
      stall,
    };
  } finally {
    await cleanup.undoTo(mark);
  }
}

/**
 * Waits until the steady-state window may start (windowStartRule): one interval after the
 * discovery run that ran the applied discovery ended, or, when that run cannot be found within
 * the onboarding timeout, the rule of old, one interval after onboarding completed.
 */
async function waitForWindowStart(
  client: Client,
  names: FleetviewNames,
  settings: FleetviewSettings,
  workers: readonly WorkerProcess[],
  applyStartedMs: number,
  appliedMs: number,
  onboardingDone: Promise<FleetviewResult['onboarding']>,
  log: (line: string) => void,
): Promise<Omit<WindowStart, 'window_start_s'>> {
  const deadlineMs = appliedMs + settings.onboardingTimeoutS * 1000;
  const search = await findDiscoveryRunEnd(client, names.scheduleId, names.discovery, applyStartedMs, deadlineMs, () => anyWorkerAlive(workers));
  const intervalMs = settings.intervalS * 1000;
  if (search.run) {
    const endS = round((search.run.closeMs - appliedMs) / 1000, 1);
    const discoveryRun = { workflow_id: search.run.workflowId, run_id: search.run.runId };
    if (settings.windowAfterOnboarding) {
      log(`discovery run ${search.run.workflowId} ran ${names.discovery} and ended ${endS} s after the apply; the window starts one interval after onboarding`);
      if ((await onboardingDone).completed) await delay(intervalMs);
      return { rule: 'after_onboarding', discovery_run: discoveryRun, discovery_run_end_s: endS, note: null };
    }
    log(`discovery run ${search.run.workflowId} ran ${names.discovery} and ended ${endS} s after the apply; the window starts one interval later`);
    await delay(Math.max(0, search.run.closeMs + intervalMs - Date.now()));
    return { rule: 'discovery_run', discovery_run: { workflow_id: search.run.workflowId, run_id: search.run.runId }, discovery_run_end_s: endS, note: null };
  }
  const note = `no completed run of schedule ${names.scheduleId} listing ${names.discovery} found within ${settings.onboardingTimeoutS} s of the apply${search.lastError ? ` (last error: ${search.lastError})` : ''}: the window started one interval after onboarding completed (at once if it did not), the rule before the discovery-run rule`;
  log(note);
  const onboarding = await onboardingDone;
  if (onboarding.completed) await delay(intervalMs);
  return { rule: 'onboarding_fallback', discovery_run: null, discovery_run_end_s: null, note };
}

/** after − before; a counter the worker has not emitted yet counts as 0 once the endpoint answered. */
function delta(after: number | null, before: number | null, endpointAnswered: boolean): number | null {
  if (!endpointAnswered) return null;
  return (after ?? 0) - (before ?? 0);
}

// --- processes and commands -----------------------------------------------------------------

/** `fleetview ARGS` as `npm run cli` runs it; `output` is stdout and stderr together, trimmed. */
export function runCli(root: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs: number): Promise<{ code: number; output: string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(root, 'node_modules', '.bin', 'tsx'),
      ['src/starter.ts', ...args],
      { cwd: root, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 2 ** 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}${stderr}`.trim(), stdout, stderr });
      },
    );
  });
}

export async function runCliOrThrow(root: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs: number): Promise<void> {
  const { code, output } = await runCli(root, env, args, timeoutMs);
  if (code !== 0) throw new Error(`fleetview ${args.join(' ')} exited ${code}:\n${output}`);
}

/** Every worker's endpoint at once, in the workers' order (an endpoint that does not answer: no samples). */
async function scrapeWorkers(workers: readonly WorkerProcess[]): Promise<Sample[][]> {
  return Promise.all(workers.map((worker) => scrapeWorker(worker.metricsPort)));
}

/** Costs of several groups as one: CPU, cores and RSS summed; null when one of them has none. */
function sumCosts(costs: readonly ProcessCost[]): ProcessCost {
  const total = (pick: (cost: ProcessCost) => number | null, digits: number): number | null => round(sum(costs.map(pick)), digits);
  return {
    cpu_s: total((cost) => cost.cpu_s, 3),
    cores: total((cost) => cost.cores, 3),
    rss_mb: total((cost) => cost.rss_mb, 1),
    largest_process_rss_mb: total((cost) => cost.largest_process_rss_mb, 1),
  };
}

export async function scrapeWorker(port: number): Promise<Sample[]> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return response.ok ? parsePromText(await response.text()) : [];
  } catch {
    return [];
  }
}

async function dropStoredState(kafka: KafkaClient, mongo: MongoClient, names: FleetviewNames): Promise<void> {
  const problems: string[] = [];
  const dropped = await dropDatabaseForGood(mongo, names.database).catch((err: unknown) => `drop database: ${String(err)}`);
  if (dropped !== true) problems.push(dropped);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([names.consumerGroup]).catch(() => undefined);
    await admin.deleteTopics({ topics: [names.topic], timeout: 10_000 }).catch((err: unknown) => {
      if (!/does not exist|UNKNOWN_TOPIC/i.test(String(err))) problems.push(`delete topic: ${String(err)}`);
    });
  } finally {
    await admin.disconnect();
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/**
 * FerretDB runs a command to its end even after its client has gone, so an update that hung
 * while the worker lived can complete after the drop and create the database again: drop until
 * it stays gone for a few seconds (a bounded number of times).
 */
async function dropDatabaseForGood(mongo: MongoClient, database: string): Promise<true | string> {
  const exists = async (): Promise<boolean> => (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.some((db) => db.name === database);
  for (let attempt = 0; attempt < 6; attempt++) {
    await mongo.db(database).dropDatabase();
    await delay(3000);
    if (!(await exists())) return true;
  }
  return `database ${database} came back after 6 drops (store commands of the stopped worker still completing)`;
}

// --- onboarding -----------------------------------------------------------------------------

/**
 * Onboarding is done when both are true: every node's AGENT_NEW is on the topic (its cluster's
 * first refresh computed and published its view) and the workers have completed at least one
 * refresh per cluster (fleetview_refreshes, summed over the workers, counts a refresh once its
 * view is saved). Either
 * alone would call a fleet onboarded whose saves hang, or one that refreshed some clusters twice.
 */
async function waitForOnboarding(
  reader: TopicReader,
  sim: SimProcess,
  workers: readonly WorkerProcess[],
  appliedMs: number,
  timeoutS: number,
): Promise<Omit<FleetviewResult['onboarding'], 'cpu'>> {
  const deadline = appliedMs + timeoutS * 1000;
  const clusters = sim.clusterIds.length;
  let refreshedMs: number | null = null;
  let refreshes = 0;
  let firstSeen = reader.firstByAddress('AGENT_NEW', appliedMs);
  while ((firstSeen.size < sim.nodes.length || refreshedMs === null) && Date.now() < deadline && anyWorkerAlive(workers)) {
    await delay(250);
    firstSeen = reader.firstByAddress('AGENT_NEW', appliedMs);
    if (refreshedMs === null) {
      refreshes = counterTotal((await scrapeWorkers(workers)).flat(), 'fleetview_refreshes') ?? 0;
      if (refreshes >= clusters) refreshedMs = Date.now();
    }
  }
  const times = sim.nodes.map((node) => firstSeen.get(node.address)).filter((t): t is number => t !== undefined);
  const eventsComplete = times.length === sim.nodes.length;
  const completed = eventsComplete && refreshedMs !== null;
  return {
    completed,
    seconds: completed ? round((Math.max(Math.max(...times), refreshedMs!) - appliedMs) / 1000, 1) : null,
    every_agent_new_s: eventsComplete ? round((Math.max(...times) - appliedMs) / 1000, 1) : null,
    timeout_s: timeoutS,
    clusters_onboarded: onboardedClusters(reader, sim).length,
    nodes_seen: times.length,
    refreshes_completed: refreshes,
  };
}

/**
 * CPU seconds of each group from just before the apply until onboarding was seen complete (or
 * timed out), and all of them per cluster listed: the first refreshes, the discovery run, and
 * the steady refreshes of the clusters onboarded first, which run beside the rest.
 */
export interface OnboardingCpu {
  seconds: number;
  cpu_s: Record<string, number | null>;
  /** Every group's CPU (a group that could not be read leaves it null) per cluster, in ms. */
  all_ms_per_cluster: number | null;
}

function onboardingCpu(window: { seconds: number; costs: Record<string, ProcessCost> }, workerKeys: readonly string[], withPostgres: boolean, clusters: number): OnboardingCpu {
  const cpu = (name: string): number | null => window.costs[name]?.cpu_s ?? null;
  const workers = workerKeys.map(cpu);
  const byGroup: Record<string, number | null> = {
    worker: workers.some((value) => value === null) ? null : round(sum(workers), 3),
    sim: cpu('sim'),
    temporal: cpu('temporal'),
    postgres: cpu('postgres'),
    kafka: cpu('kafka'),
    store: cpu('store'),
  };
  // PostgreSQL counts where it runs (the cluster profile); a group that could not be read leaves the sum unknown.
  const all = sum(Object.entries(byGroup).flatMap(([name, value]) => (name === 'postgres' && !withPostgres ? [] : [value])));
  return { seconds: round(window.seconds, 1)!, cpu_s: byGroup, all_ms_per_cluster: round(all === null ? null : (all * 1000) / clusters, 1) };
}

/** Clusters whose every node has had its AGENT_NEW: their first refresh is done. */
function onboardedClusters(reader: TopicReader, sim: SimProcess): string[] {
  const seen = reader.firstByAddress('AGENT_NEW');
  return sim.clusterIds.filter((id) => sim.nodes.every((node) => node.clusterId !== id || seen.has(node.address)));
}

// --- Temporal's cost per refresh ------------------------------------------------------------

/**
 * A steady-state refresh is one cycle of the cluster's timer: the timer fires, the cluster is
 * refreshed, the next timer starts. In each sampled workflow's current run, the events from its
 * first TimerFired up to (not including) its last TimerFired before `untilMs` are whole cycles;
 * dividing by the cycles gives events (and workflow tasks, activity tasks, local-activity
 * markers) per scheduled refresh. The first refresh, which starts without a timer, and the
 * fault phase after `untilMs` are left out. Needs only "a timer per scheduled refresh", not any
 * event layout of the refresh itself.
 */
async function historyCost(client: Client, clusterIds: readonly string[], untilMs: number): Promise<HistoryCost> {
  let cycles = 0;
  let events = 0;
  let workflowTasks = 0;
  let activityTasks = 0;
  let markers = 0;
  let sampled = 0;
  for (const id of clusterIds) {
    let history;
    try {
      history = await client.workflow.getHandle(clusterWorkflowId(id)).fetchHistory();
    } catch {
      continue;
    }
    const list = ((history.events ?? []) as HistoryEventShape[]).filter((event) => eventTimeMs(event) <= untilMs);
    const fired = list.flatMap((event, index) => (event.timerFiredEventAttributes ? [index] : []));
    if (fired.length < 2) continue;
    sampled += 1;
    const span = list.slice(fired[0], fired[fired.length - 1]);
    cycles += fired.length - 1;
    events += span.length;
    workflowTasks += span.filter((event) => event.workflowTaskCompletedEventAttributes).length;
    activityTasks += span.filter((event) => event.activityTaskScheduledEventAttributes).length;
    markers += span.filter((event) => event.markerRecordedEventAttributes).length;
  }
  return {
    method: 'events between the first and the last TimerFired of each sampled run (whole timer cycles, first refresh excluded) ÷ cycles',
    sampled_workflows: sampled,
    cycles,
    events_per_refresh: round(ratio(events, cycles), 2),
    workflow_tasks_per_refresh: round(ratio(workflowTasks, cycles), 2),
    activity_tasks_per_refresh: round(ratio(activityTasks, cycles), 2),
    local_activity_markers_per_refresh: round(ratio(markers, cycles), 2),
  };
}

// --- store commands -------------------------------------------------------------------------

/** Commands that are the drivers' own bookkeeping (handshakes, monitoring, sessions) or ours, not fleetview's work. */
const bookkeepingCommands = new Set([
  'hello', 'ismaster', 'isMaster', 'ping', 'serverStatus', 'buildInfo', 'buildinfo', 'endSessions', 'getParameter',
  'getCmdLineOpts', 'connectionStatus', 'whatsmyuri', 'saslStart', 'saslContinue', 'listDatabases', 'unknown',
]);

interface StoreCounts {
  source: string;
  byCommand: Record<string, number>;
}

/** The worker's own count of the commands it sent to the store (exact: no other client counts). */
function workerStoreCommands(samples: readonly Sample[]): StoreCounts | null {
  const byCommand: Record<string, number> = {};
  for (const sample of samples) {
    if (!/^fleetview_store_commands(_total)?$/.test(sample.name)) continue;
    const command = sample.labels.command ?? 'unknown';
    if (bookkeepingCommands.has(command)) continue;
    byCommand[command] = (byCommand[command] ?? 0) + sample.value;
  }
  return Object.keys(byCommand).length > 0 ? { source: "the worker's fleetview_store_commands", byCommand } : null;
}

/**
 * The store's own operation counters: real MongoDB's serverStatus.opcounters, or FerretDB's
 * serverStatus.metrics.commands (per command name). Server-wide: other clients of the same
 * server (tests running meanwhile) count too. Null when the store has neither.
 */
async function storeCommandCounts(mongo: MongoClient): Promise<StoreCounts | null> {
  try {
    const status = await mongo.db('admin').command({ serverStatus: 1 }, { timeoutMS: 5000 });
    const opcounters = status.opcounters as Record<string, unknown> | undefined;
    if (opcounters) {
      const byCommand = Object.fromEntries(Object.entries(opcounters).filter(([, v]) => typeof v === 'number' || typeof v === 'bigint').map(([k, v]) => [k, Number(v)]));
      return { source: 'serverStatus.opcounters', byCommand };
    }
    const commands = (status.metrics as { commands?: Record<string, { total?: unknown }> } | undefined)?.commands;
    if (commands) {
      const byCommand = Object.fromEntries(
        Object.entries(commands)
          .filter(([name]) => !bookkeepingCommands.has(name))
          .map(([name, counts]) => [name, Number(counts.total ?? 0)]),
      );
      return { source: 'serverStatus.metrics.commands (FerretDB)', byCommand };
    }
    return null;
  } catch {
    return null;
  }
}

function storeCost(before: StoreCounts | null, after: StoreCounts | null, refreshes: number | null): StoreCost {
  if (!before || !after) {
    return {
      source: null,
      note: 'the store exposes neither serverStatus.opcounters nor serverStatus.metrics.commands (or did not answer serverStatus within 5 s)',
      commands: null,
      commands_per_refresh: null,
      by_command: null,
    };
  }
  const byCommand: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.byCommand)) {
    const change = count - (before.byCommand[name] ?? 0);
    if (change > 0) byCommand[name] = change;
  }
  const commands = Object.values(byCommand).reduce((total, count) => total + count, 0);
  return {
    source: after.source,
    note: 'server-wide counters: every client of the store during the window counts (driver handshakes and monitoring excluded); commands, not documents',
    commands,
    commands_per_refresh: round(ratio(commands, refreshes), 2),
    by_command: byCommand,
  };
}

// --- when a size does not keep up -----------------------------------------------------------

async function diagnoseStall(
  client: Client,
  config: Config,
  mongo: MongoClient,
  workers: readonly WorkerProcess[],
  metricsBefore: Sample[],
  metricsAfter: Sample[],
  sampleClusters: readonly string[],
  onboarding: FleetviewResult['onboarding'],
  refreshesDone: number | null,
  due: number,
): Promise<StallReport> {
  const slots: Record<string, number | null> = {};
  for (const type of ['WorkflowWorker', 'ActivityWorker', 'LocalActivityWorker']) {
    slots[type] = gaugeTotal(metricsAfter, 'temporal_worker_task_slots_used', (labels) => labels.worker_type === type);
  }
  const p99 = (base: string): number | null => round(histogramQuantile(histogramDelta(histogram(metricsBefore, base), histogram(metricsAfter, base)), 0.99), 1);

  const backlog = async (taskQueueType: 1 | 2): Promise<number | null> => {
    try {
      const answer = await client.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.taskQueue },
        taskQueueType,
        reportStats: true,
      });
      const count = answer.stats?.approximateBacklogCount;
      return count === undefined || count === null ? null : Number(count);
    } catch {
      return null;
    }
  };

  const pending = { sampled_workflows: 0, pending: 0, max_attempt: 0, last_failures: [] as string[] };
  for (const id of sampleClusters) {
    try {
      const description = await client.workflow.getHandle(clusterWorkflowId(id)).describe();
      pending.sampled_workflows += 1;
      for (const activity of description.raw.pendingActivities ?? []) {
        pending.pending += 1;
        pending.max_attempt = Math.max(pending.max_attempt, activity.attempt ?? 0);
        const failure = activity.lastFailure?.message;
        if (failure && pending.last_failures.length < 5) pending.last_failures.push(`${activity.activityType?.name ?? 'activity'}: ${failure.slice(0, 160)}`);
      }
    } catch {
      // A workflow not started yet (onboarding stalled before it): nothing pending to show.
    }
  }

  const started = Date.now();
  const storeProbe = await mongo
    .db(config.mongodb.database)
    .collection('clusters')
    .findOne({}, { maxTimeMS: 5000, timeoutMS: 6000 })
    .then(
      () => `a find on clusters answered in ${Date.now() - started} ms`,
      (err: unknown) => `a find on clusters failed after ${Date.now() - started} ms: ${String(err).slice(0, 160)}`,
    );

  const report: StallReport = {
    summary: '',
    worker_alive: workers.every((worker) => !worker.group.exited()),
    task_slots_used: slots,
    workflow_task_schedule_to_start_p99_ms: p99('temporal_workflow_task_schedule_to_start_latency'),
    activity_schedule_to_start_p99_ms: p99('temporal_activity_schedule_to_start_latency'),
    backlog: { workflow: await backlog(1), activity: await backlog(2) },
    pending_activities: pending,
    store_probe: storeProbe,
  };
  report.summary = [
    onboarding.completed
      ? null
      : `onboarding incomplete in ${onboarding.timeout_s} s (AGENT_NEW of ${onboarding.clusters_onboarded} clusters' nodes, ${onboarding.refreshes_completed} refreshes completed)`,
    `${refreshesDone ?? 'unknown'} refreshes done of ${Math.round(due)} due`,
    report.worker_alive
      ? null
      : workers.length === 1
        ? 'the worker process died'
        : `worker processes died: ${workers.filter((worker) => worker.group.exited()).map((worker) => worker.group.name).join(', ')}`,
    `${pending.pending} pending activities in ${pending.sampled_workflows} sampled workflows (max attempt ${pending.max_attempt})`,
    pending.last_failures[0] ? `last failure ${pending.last_failures[0]}` : null,
    `backlog workflow ${report.backlog.workflow ?? '?'} / activity ${report.backlog.activity ?? '?'}`,
    `slots used wf ${slots.WorkflowWorker ?? '?'} act ${slots.ActivityWorker ?? '?'} local ${slots.LocalActivityWorker ?? '?'}`,
    `schedule-to-start p99 wf ${report.workflow_task_schedule_to_start_p99_ms ?? '?'} ms act ${report.activity_schedule_to_start_p99_ms ?? '?'} ms`,
    report.store_probe,
  ]
    .filter(Boolean)
    .join('; ');
  return report;
}
