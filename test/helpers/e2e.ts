/**
 * End-to-end harness: a configuration of unique names (task queue, topic, database) on the real
 * services, an in-process fleetview worker, a Temporal client, and a reader of the events topic.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { connectTemporalClient, kafkaSecurity, mongoStoreOptions } from '../../src/adapters/connections/index.js';
import { createMongoStore, type ClusterStore } from '../../src/adapters/mongo-store.js';
import { fleetviewDataConverter } from '../../src/adapters/payload-store.js';
import { createLogger } from '../../src/adapters/logger.js';
import { startTopicConsumer, type TopicConsumer } from '../../src/adapters/topic-consumer.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { createFleetviewWorker, type RunningWorker } from '../../src/worker.js';
import { startSim, type SimHandle, type SimOptions } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { viewQuery, type ViewQueryResult } from '../../src/workflows/messages.js';
import { uniqueName } from './unique.js';
import '../../src/adapters/kafkajs-idle-loop.js';

/** The suite's configuration with names no other test or earlier run uses. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    FLEETVIEW_TASK_QUEUE: uniqueName('fleetview'),
    FLEETVIEW_EVENTS_TOPIC: uniqueName('events'),
    FLEETVIEW_EVENTS_PARTITIONS: '1',
    FLEETVIEW_MONGODB_DATABASE: uniqueName('fleetview').replace(/-/g, '_'),
    FLEETVIEW_METRICS_PORT: '0',
    FLEETVIEW_AGENT_TIMEOUT_MS: '1000',
    FLEETVIEW_LOG_LEVEL: process.env.FLEETVIEW_TEST_LOG_LEVEL ?? 'warn',
    ...overrides,
  });
}

/** The same configuration as environment variables, for a worker run as a child process. */
export function configEnv(config: Config): Record<string, string> {
  return {
    FLEETVIEW_TEMPORAL_ADDRESS: config.temporal.address,
    FLEETVIEW_TEMPORAL_NAMESPACE: config.temporal.namespace,
    FLEETVIEW_TASK_QUEUE: config.temporal.taskQueue,
    FLEETVIEW_KAFKA_BROKERS: config.kafka.brokers.join(','),
    FLEETVIEW_EVENTS_TOPIC: config.kafka.topic,
    FLEETVIEW_EVENTS_PARTITIONS: String(config.kafka.topicPartitions),
    FLEETVIEW_MONGODB_URI: config.mongodb.uri,
    FLEETVIEW_MONGODB_DATABASE: config.mongodb.database,
    FLEETVIEW_METRICS_PORT: String(config.worker.metricsPort),
    FLEETVIEW_AGENT_TIMEOUT_MS: String(config.agent.timeoutMs),
    FLEETVIEW_LOG_LEVEL: config.worker.logLevel,
    ...connectionEnv(config),
  };
}

/** The TLS and credential settings of `config` as variables (secrets in clear: for child processes only). */
function connectionEnv(config: Config): Record<string, string> {
  const env: Record<string, string | undefined> = {};
  const tls = (prefix: string, settings: Config['temporal']['tls']) => {
    env[`${prefix}_TLS`] = settings.enabled === undefined ? undefined : String(settings.enabled);
    env[`${prefix}_TLS_CA_FILE`] = settings.caFile;
    env[`${prefix}_TLS_CERT_FILE`] = settings.certFile;
    env[`${prefix}_TLS_KEY_FILE`] = settings.keyFile;
    env[`${prefix}_TLS_SERVER_NAME`] = settings.serverName;
  };
  tls('FLEETVIEW_TEMPORAL', config.temporal.tls);
  tls('FLEETVIEW_KAFKA', config.kafka.tls);
  tls('FLEETVIEW_MONGODB', config.mongodb.tls);
  env.FLEETVIEW_TEMPORAL_API_KEY = config.temporal.apiKey?.reveal();
  env.FLEETVIEW_KAFKA_SASL_MECHANISM = config.kafka.sasl.mechanism;
  env.FLEETVIEW_KAFKA_SASL_USERNAME = config.kafka.sasl.username;
  env.FLEETVIEW_KAFKA_SASL_PASSWORD = config.kafka.sasl.password?.reveal();
  env.FLEETVIEW_MONGODB_USERNAME = config.mongodb.username;
  env.FLEETVIEW_MONGODB_PASSWORD = config.mongodb.password?.reveal();
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export interface TestWorker {
  stop(): Promise<void>;
}

export async function startTestWorker(config: Config): Promise<TestWorker> {
  const running: RunningWorker = await createFleetviewWorker(config, createLogger(config.worker.logLevel, { test: true }));
  const done = running.run();
  return {
    async stop() {
      running.shutdown();
      await done;
    },
  };
}

/**
 * A worker as a child process (`src/worker.ts` on `config`), for tests that SIGKILL it. Should it
 * exit with an error, the tail of its stderr is printed.
 */
export function spawnWorkerProcess(config: Config, extraEnv: Record<string, string> = {}): ChildProcess {
  const script = fileURLToPath(new URL('../../src/worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...configEnv(config), ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`worker exited ${code}: ${stderr}\n`);
  });
  return child;
}

export async function connectClient(config: Config): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await connectTemporalClient(config.temporal);
  // Reads large payloads (a big cluster's view) from the store, as the CLI does; opened on first need.
  let store: Promise<ClusterStore> | undefined;
  const dataConverter = fleetviewDataConverter({
    db: async () => (await (store ??= createMongoStore(mongoStoreOptions(config.mongodb)))).db,
    timeoutMs: config.mongodb.timeoutMs,
    thresholdBytes: config.temporal.payloadOffloadBytes,
  });
  return {
    client: new Client({ connection, namespace: config.temporal.namespace, dataConverter }),
    close: async () => {
      await connection.close();
      await (await store?.catch(() => undefined))?.close();
    },
  };
}

/** Ends a workflow a test started, so the shared dev server keeps no orphans polling nothing. */
export async function terminateQuietly(handle: WorkflowHandle): Promise<void> {
  try {
    await handle.terminate('test finished');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError) && !/already completed|not found/i.test(String(err))) throw err;
  }
}

export interface ReceivedEvent {
  event: FleetEvent;
  key: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

/** Reads the topic from the beginning into memory, from the moment it is started. */
export class TopicReader {
  readonly received: ReceivedEvent[] = [];
  private consumer: TopicConsumer | undefined;

  constructor(private readonly config: Config) {}

  /** `waitForTopicMs`: how long the topic may take to appear (a worker starting beside the test creates it). */
  async start({ waitForTopicMs = 0 }: { waitForTopicMs?: number } = {}): Promise<this> {
    const kafka = new Kafka({ ...kafkaSecurity(this.config.kafka), clientId: uniqueName('reader'), brokers: this.config.kafka.brokers, logLevel: logLevel.NOTHING });
    this.consumer = await startTopicConsumer({
      kafka,
      topic: this.config.kafka.topic,
      groupId: uniqueName('reader'),
      maxWaitTimeInMs: 200,
      waitForTopicMs,
      eachMessage: ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        this.received.push({
          event: JSON.parse(message.value?.toString() ?? 'null') as FleetEvent,
          key: message.key?.toString() ?? '',
          partition,
          offset: message.offset,
          headers,
        });
      },
    });
    return this;
  }

  /** The events in arrival order with duplicates (same id) dropped, as consumers are told to. */
  unique(): FleetEvent[] {
    const seen = new Set<string>();
    return this.received.map((r) => r.event).filter((e) => !seen.has(e.id) && seen.add(e.id));
  }

  async waitFor(predicate: (events: FleetEvent[]) => boolean, timeoutMs = 30_000): Promise<FleetEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.unique())) {
      if (Date.now() > deadline) throw new Error(`events did not arrive within ${timeoutMs} ms; got ${this.unique().length}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.unique();
  }

  /** Disconnects within a bound; no restart of the consumer after it. */
  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }
}

/** The variables `scripts/services.sh env` prints (binary paths of the installed tools among them). */
export function servicesEnv(extra: Record<string, string> = {}): Record<string, string> {
  const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
  const result = spawnSync('bash', [script, 'env'], { env: { ...process.env, ...extra }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`scripts/services.sh env failed: ${result.stderr}`);
  return Object.fromEntries(
    result.stdout
      .split('\n')
      .filter((line) => line.startsWith('export '))
      .map((line) => {
        const [name, ...value] = line.slice('export '.length).split('=');
        return [name!, value.join('=')];
      }),
  );
}

/** The activity type of a local activity's marker in a history, or null for any other event. */
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export function localActivityType(event: HistoryEvent): string | null {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return null;
  return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type ?? null;
}

/** Polls `accept` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(accept: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await accept())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls the workflow's `view` query until `accept` holds (a worker must be running). */
export async function waitForView(
  handle: WorkflowHandle,
  accept: (q: ViewQueryResult) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ViewQueryResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Each query bounded: with no worker polling, a query waits (and the test would hang).
    const q = await handle.client
      .withDeadline(Math.min(deadline, Date.now() + 10_000) + 1_000, () => handle.query(viewQuery))
      .catch((err: unknown) => {
        if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms (the query failed: ${(err as Error).message})`);
        return null;
      });
    if (q && accept(q)) return q;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms (generation ${q?.view?.generation}, phase ${q?.phase})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface RefresherFixture {
  sim: SimHandle;
  temporal: Awaited<ReturnType<typeof connectClient>>;
  handle: WorkflowHandle<typeof clusterRefresh>;
  close(): Promise<void>;
}

/**
 * A sim of one cluster, a worker and a client on `config`, and that cluster's refresher started
 * with a one-hour interval (tests force refreshes). close() undoes all of it.
 */
export async function startRefresherFixture(config: Config, sim: Omit<SimOptions, 'clusters'>, settings: Record<string, number> = {}): Promise<RefresherFixture> {
  const simHandle = await startSim({ ...sim, clusters: 1 });
  const temporal = await connectClient(config);
  const worker = await startTestWorker(config);
  const record = simHandle.records()[0]!;
  const handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${record.cluster_id}`,
    args: [{ ...record, refresh_interval_s: 3600, ...settings }],
  });
  return {
    sim: simHandle,
    temporal,
    handle,
    async close() {
      await terminateQuietly(handle);
      await worker.stop();
      await temporal.close();
      await simHandle.close();
    },
  };
}
