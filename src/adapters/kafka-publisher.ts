/**
 * Publishes event envelopes to Kafka: one idempotent producer per worker, key = cluster id (so
 * one cluster's events stay in order on one partition), value = the JSON envelope, headers =
 * `event-id` plus the CloudEvents binary-mode attributes. Retries belong to Temporal: kafkajs
 * gets a short retry budget so a dead broker fails the activity quickly and the workflow's retry
 * policy takes over while it holds the events.
 */
import { Kafka, Partitioners, logLevel as kafkaLogLevel, type Admin, type KafkaConfig, type Message, type Producer, type logCreator } from 'kafkajs';
import type { Logger } from './logger.js';

/** The envelope fields the publisher needs; the domain's event envelope has them all. */
export interface PublishableEvent {
  id: string;
  category: string;
  event: string;
  cluster_id: string;
  timestamp: string;
}

export interface KafkaPublisherOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  topicPartitions: number;
  topicRetentionMs: number;
  logger: Logger;
  /** kafkajs connection and request timeouts; kept short so Temporal, not kafkajs, owns waiting. */
  requestTimeoutMs?: number;
  /** TLS and SASL: `kafkaSecurity(config.kafka)` from ./connections. */
  security?: Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

export interface EventPublisher {
  readonly topic: string;
  /** Creates the topic with the configured partitions and retention when it does not exist. */
  ensureTopic(): Promise<void>;
  /** Sends the events in order, acknowledged by all in-sync replicas, or throws. */
  publish(events: readonly PublishableEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Below the broker's default message.max.bytes (1 MiB) for one record batch, with room for overhead. */
const maxRequestBytes = 512 * 1024;

/** CloudEvents `source` of fleetview's events (a URI-reference, per the spec). */
export const cloudEventsSource = 'fleetview';

export function eventHeaders(event: PublishableEvent): Record<string, string> {
  return {
    'event-id': event.id,
    ce_specversion: '1.0',
    ce_id: event.id,
    ce_type: `io.fleetview.${event.event}`,
    ce_source: `${cloudEventsSource}/clusters/${event.cluster_id}`,
    ce_time: event.timestamp,
    'content-type': 'application/json',
  };
}

/**
 * kafkajs' own errors are retried transport failures (one per refused connection during an
 * outage): warnings here, since the failed publish activity is what reports the outage. Its
 * warning about limited retries on an idempotent producer is dropped: Temporal owns retries
 * and consumers drop duplicates by event id.
 */
function kafkaLogger(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...attrs } = log;
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      const fields = { component: 'kafkajs', ...attrs };
      if (level === kafkaLogLevel.ERROR || level === kafkaLogLevel.WARN) logger.warn(message, fields);
      else logger.debug(message, fields);
    };
}

export function createKafkaPublisher(options: KafkaPublisherOptions): EventPublisher {
  const timeout = options.requestTimeoutMs ?? 10_000;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: Math.min(timeout, 5_000),
    requestTimeout: timeout,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: kafkaLogLevel.WARN,
    logCreator: kafkaLogger(options.logger),
    ...options.security,
  });

  /**
   * Publishes of refreshes that finish together share one produce request: the idempotent
   * producer has one request in flight at a time, so a request per refresh would queue behind
   * each other. A cluster publishes again only after its previous publish returned, so merging
   * never reorders one cluster's events.
   */
  interface WaitingPublish {
    messages: Message[];
    resolve(): void;
    reject(err: unknown): void;
  }
  const waiting: WaitingPublish[] = [];
  let sending = false;

  const toMessage = (event: PublishableEvent): Message => {
    const value = JSON.stringify(event);
    return { key: event.cluster_id, value, headers: eventHeaders(event), timestamp: String(Date.parse(event.timestamp)) };
  };

  /** Takes waiting publishes, whole, up to about maxRequestBytes (always at least one). */
  function takeRequest(): WaitingPublish[] {
    const taken: WaitingPublish[] = [];
    let bytes = 0;
    while (waiting.length > 0) {
      const size = waiting[0]!.messages.reduce((sum, m) => sum + (m.value as string).length + 300, 0);
      if (taken.length > 0 && bytes + size > maxRequestBytes) break;
      taken.push(waiting.shift()!);
      bytes += size;
    }
    return taken;
  }

  async function sendWaiting(): Promise<void> {
    sending = true;
    try {
      while (waiting.length > 0) {
        const request = takeRequest();
        try {
          await publisher.ensureTopic();
          const connected = await connectedProducer();
          await connected.send({ topic: options.topic, acks: -1, messages: request.flatMap((p) => p.messages) }).catch(async (err: unknown) => {
            await dropProducer();
            throw err;
          });
          for (const p of request) p.resolve();
        } catch (err) {
          for (const p of request) p.reject(err);
        }
      }
    } finally {
      sending = false;
    }
  }

  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  let topicReady = false;

  // The producer is (re)connected lazily: after a broker outage a fresh one is cheaper to reason
  // about than a half-broken connection pool.
  async function connectedProducer(): Promise<Producer> {
    if (producer) return producer;
    connecting ??= (async () => {
      const fresh = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await fresh.connect();
      } catch (err) {
        await fresh.disconnect().catch(() => undefined);
        throw err;
      }
      producer = fresh;
      return fresh;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  async function dropProducer(): Promise<void> {
    const old = producer;
    producer = undefined;
    await old?.disconnect().catch(() => undefined);
  }

  async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }

  const publisher: EventPublisher = {
    topic: options.topic,

    async ensureTopic() {
      if (topicReady) return;
      await withAdmin(async (admin) => {
        const existing = await admin.listTopics();
        if (!existing.includes(options.topic)) {
          await admin.createTopics({
            waitForLeaders: true,
            topics: [
              {
                topic: options.topic,
                numPartitions: options.topicPartitions,
                configEntries: [{ name: 'retention.ms', value: String(options.topicRetentionMs) }],
              },
            ],
          });
          options.logger.info('created the events topic', {
            topic: options.topic,
            partitions: options.topicPartitions,
            retentionMs: options.topicRetentionMs,
          });
        }
      });
      topicReady = true;
    },

    publish(events) {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ messages: events.map(toMessage), resolve, reject });
        if (!sending) void sendWaiting();
      });
    },

    async close() {
      await dropProducer();
    },
  };
  return publisher;
}
