/**
 * The fleetview worker (`npm start`): runs the workflows and activities on the configured task
 * queue. The HTTP client for agents, the Kafka producer and the MongoDB client are built once
 * here (the last two through src/adapters/clients.ts) and injected into the activities.
 * SIGINT/SIGTERM drain the worker, then close the clients.
 * Metrics: Temporal's Prometheus exporter serves the SDK's runtime metrics and fleetview's own
 * (emitted through Temporal's metric meters) on one endpoint, http://HOST:PORT/metrics.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { DefaultLogger, Runtime, Worker, type LogLevel as TemporalLogLevel } from '@temporalio/worker';
import { createDiscoveryMetrics } from './activities/discovery.js';
import { createActivities } from './activities/index.js';
import { createAgentClient, type AgentClient } from './adapters/agent-client.js';
import { openClients } from './adapters/clients.js';
import { ServiceConnectError } from './adapters/connections/index.js';
import { createDiscoverySourceCache } from './adapters/discovery/index.js';
import { startControlGauges } from './adapters/control-gauges.js';
import { createControlStore } from './adapters/control-store.js';
import { createDiscoveryStore } from './adapters/discovery-store/index.js';
import { createLogger, type Logger } from './adapters/logger.js';
import { setWorkflowWatchdog } from './adapters/workflow-isolate-watchdog.js';
import { sweepStoredPayloads } from './adapters/payload-store.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { workerNodeFlags } from './worker-node-flags.js';
import { sourceOrCompiled, workflowBundleCode } from './workflow-bundle.js';

const temporalLevels: Record<Config['worker']['logLevel'], TemporalLogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/** The workflow bundle's entry: the TypeScript source under tsx, the compiled file under dist/. */
export function workflowsPath(): string {
  return workflowModule('index');
}

/** A module of src/workflows: the TypeScript source under tsx, else the compiled file. */
function workflowModule(name: string): string {
  return sourceOrCompiled(`workflows/${name}`);
}

/**
 * Loaded once into the workflow sandbox and shared by every workflow (see its header): each cached
 * workflow otherwise holds its own copy of every module it imports.
 */
export function sharedWorkflowModules(): string[] {
  return [workflowModule('shared-modules')];
}

/** What the workflow sandbox loads before any workflow: the shared modules, and the stack trace setting. */
export function workflowPreloadModules(config: Pick<Config, 'worker'>): string[] {
  return [...(config.worker.workflowStackTraces ? [] : [workflowModule('without-stack-traces')]), ...sharedWorkflowModules()];
}

/** Bundling takes seconds (about 3 s of CPU); a minute and more on a machine too busy to start a worker anyway. */
const bundleTimeoutMs = 180_000;

/**
 * The SDK's default buckets (50 ms to 10 s) cannot tell a refresh a minute late from one 10 s
 * late, nor place the alert's 5 s bound: fleetview's refresh histograms get finer and wider ones.
 */
const refreshBoundsMs = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];
const refreshBucketsMs = { fleetview_refresh_lag: refreshBoundsMs, fleetview_refresh_duration: refreshBoundsMs };

let runtimeInstalled = false;

/** Temporal's runtime is process-wide and can be installed once: logs and the metrics endpoint. */
export function installRuntime(config: Config, logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const port = config.worker.metricsPort;
  Runtime.install({
    logger: new DefaultLogger(temporalLevels[config.worker.logLevel], ({ level, message, meta }) => {
      const attrs = { component: 'temporal', ...meta };
      if (level === 'ERROR') logger.error(message, attrs);
      else if (level === 'WARN') logger.warn(message, attrs);
      else if (level === 'INFO') logger.info(message, attrs);
      else logger.debug(message, attrs);
    }),
    telemetryOptions: port > 0 ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${port}`, histogramBucketOverrides: refreshBucketsMs } } } : {},
  });
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped polling and its clients are closed. */
  run(): Promise<void>;
  /** Starts a graceful shutdown; run() resolves when it is done. */
  shutdown(): void;
}

/** Builds the clients and the Worker. Throws, naming the service, when one cannot be reached. */
export async function createFleetviewWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  installRuntime(config, logger);
  const meter = Runtime.instance().metricMeter;
  const storeCommands = meter.createCounter('fleetview_store_commands', 'count', 'commands sent to the store, by command');
  // Counted as they land, also those of a large first write that goes on after its caller stopped waiting.
  const documentsWritten = meter.createCounter('fleetview_store_documents_written', 'count', 'entity documents upserted or deleted');
  const clients = openClients(config, {
    publisherLogger: logger.child({ component: 'kafka' }),
    storeMetrics: {
      onCommand: (command) => storeCommands.add(1, { command }),
      onDocumentsWritten: (_clusterId, documents) => documentsWritten.add(documents),
    },
    onCloseError: (client, err) => logger.warn('closing a client failed', { client, error: err }),
  });
  // Closed last: what the worker's other parts use.
  const closers: Array<() => Promise<void> | void> = [() => clients.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await Promise.resolve(close()).catch((err: unknown) => logger.warn('closing a client failed', { error: err }));
    }
  };
  try {
    const store = await clients.clusterStore();
    await store.ensureIndexes();

    const publisher = clients.publisher();
    await publisher.ensureTopic().catch((err: unknown) => {
      throw clients.kafkaError(err);
    });

    const agents: AgentClient = createAgentClient(config.agent);
    closers.push(() => agents.close());

    const connection = await clients.workerConnection();

    // Discovery shares the MongoDB client; its activities start and signal cluster workflows
    // through a client connection of their own (the worker's NativeConnection serves only polling).
    const discoveryStore = createDiscoveryStore(store.db);
    await discoveryStore.ensureIndexes();
    const controlStore = createControlStore(store.db);
    await controlStore.ensureIndexes();
    const controlGauges = startControlGauges({ meter, store: controlStore, logger, timeoutMs: config.mongodb.timeoutMs });
    closers.push(() => controlGauges.stop());
    const sources = createDiscoverySourceCache();
    closers.push(() => sources.close());
    // Large payloads (a big cluster's observation, continue-as-new input) live in the store;
    // workflow histories hold references. The worker and its client must both read them.
    const temporal = await clients.temporal();
    closers.push(startPayloadSweeps(config, logger, () => sweepStoredPayloads({ db: store.db, temporal, timeoutMs: config.mongodb.timeoutMs })));
    const discovery = {
      store: discoveryStore,
      sources,
      temporal,
      taskQueue: config.temporal.taskQueue,
      refreshIntervalS: config.refresh.intervalS,
      metrics: createDiscoveryMetrics(meter),
    };

    setWorkflowWatchdog(config.worker.workflowWatchdogMs ?? null, logger);
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: { code: await workflowBundleCode({ workflowsPath: workflowsPath(), preloadModules: workflowPreloadModules(config) }, logger, bundleTimeoutMs) },
      dataConverter: clients.dataConverter,
      activities: createActivities({ agents, publisher, store, controls: controlStore, storeDeadlineMs: config.mongodb.timeoutMs, discovery }),
      shutdownGraceTime: '10 seconds',
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      // The SDK's default, 10 s, made a dead worker's clusters wait interval + 10 s.
      stickyQueueScheduleToStartTimeout: config.worker.stickyQueueTimeoutS * 1000,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
      maxConcurrentLocalActivityExecutions: config.worker.maxConcurrentLocalActivities,
    });
    return {
      worker,
      async run() {
        try {
          await worker.run();
        } finally {
          await closeAll();
        }
      },
      shutdown: () => worker.shutdown(),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Sweeps stored payloads on a timer (each worker: sweeps are idempotent); returns the stop. */
function startPayloadSweeps(config: Config, logger: Logger, sweep: () => Promise<{ removed: number; kept: number }>): () => Promise<void> {
  const intervalS = config.temporal.payloadSweepIntervalS;
  if (intervalS === 0) return () => Promise.resolve();
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= sweep()
      .then(
        (result) => logger.info('swept stored payloads', result),
        (err: unknown) => logger.warn('sweeping stored payloads failed; trying again at the next sweep', { error: err }),
      )
      .finally(() => {
        running = null;
      });
  }, intervalS * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * The allocator this process runs on, for the start log: jemalloc when scripts/start-worker.sh
 * (or the operator's LD_PRELOAD) preloaded it, which at fleet size is worth ~30% of the worker's
 * memory (docs/scaling.md#the-allocator-jemalloc); else the C library's malloc.
 */
function allocatorInUse(): string {
  try {
    return readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc') ? 'jemalloc' : 'libc malloc';
  } catch {
    return 'unknown (no /proc/self/maps)';
  }
}

async function main(): Promise<void> {
  // Started without them (`node dist/worker.js`), the flags still reach the workflow thread,
  // created later: V8 reads them when a thread's heap is made (the main heap is made already).
  for (const flag of workerNodeFlags) if (!process.execArgv.includes(flag)) v8.setFlagsFromString(flag);
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`fleetview worker: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.worker.logLevel, { service: 'fleetview-worker' });
  let running: RunningWorker;
  try {
    running = await createFleetviewWorker(config, logger);
  } catch (err) {
    logger.error('the worker could not start', { error: err });
    // 4, as the CLI: a service cannot be used (unreachable, refused TLS, bad credentials).
    process.exit(err instanceof ServiceConnectError ? 4 : 1);
  }
  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    temporal: config.temporal.address,
    metrics: config.worker.metricsPort > 0 ? `http://127.0.0.1:${config.worker.metricsPort}/metrics` : 'off',
    webUi: config.temporal.uiUrl,
    allocator: allocatorInUse(),
  });
  // Runtime.install's default shutdown signals (SIGINT, SIGTERM, SIGQUIT, SIGUSR2) drain the worker.
  await running.run();
  logger.info('worker stopped');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
