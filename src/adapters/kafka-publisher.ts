/**
 * Publishes event envelopes to Kafka: one idempotent producer per worker, key = cluster id (so
 * one cluster's events stay in order on one partition), value = the JSON envelope, headers =
 * `event-id` plus the CloudEvents binary-mode attributes. Retries belong to Temporal: kafkajs
 * gets a short retry budget so a dead broker fails the activity quickly and the workflow's retry
 * policy takes over while it holds the events.
 *
 * A publish goes out in produce requests of at most `maxRequestBytes` of records (the broker
 * refuses a record batch over the topic's `max.message.bytes`, 1 MiB by default, and a large
 * cluster's first refresh is tens of MiB), one request acknowledged before the next, so its
 * events reach the partition in order.
 */
import kafkajs, { CompressionTypes, Kafka, Partitioners, logLevel as kafkaLogLevel, type Admin, type KafkaConfig, type Message, type Producer, type logCreator } from 'kafkajs';
import type { KafkaCompression } from '../config.js';
import type { Logger } from './logger.js';
import './kafkajs-idle-loop.js';

// kafkajs is CommonJS: ConfigResourceTypes is reachable only through its default export.
const { ConfigResourceTypes } = kafkajs;

/** The envelope fields the publisher needs; the domain's event envelope has them all. */
export interface PublishableEvent {
  id: string;
  category: string;
  event: string;
  /** Null on events about a discovery: keyed by `discovery/<name>` (the id's first two parts). */
  cluster_id: string | null;
  timestamp: string;
  maintenance?: { until: string; reason: string };
}

/** The Kafka key: the cluster (its events stay in order), or the discovery an event is about. */
export function eventKey(event: PublishableEvent): string {
  return event.cluster_id ?? event.id.split('/', 2).join('/');
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
  /** Codec of every produce request. */
  compression: KafkaCompression;
  /** Record bytes (as {@link recordBytes} counts them) per produce request, before compression. */
  maxRequestBytes: number;
}

export interface EventPublisher {
  readonly topic: string;
  /** Creates the topic with the configured partitions and retention when it does not exist. */
  ensureTopic(): Promise<void>;
  /**
   * Sends the events in order, acknowledged by all in-sync replicas, or throws. Several requests
   * when they are many; a failed one fails the whole publish (the caller sends it all again) and
   * none of its later events is sent after it.
   */
  publish(events: readonly PublishableEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** The broker's default `message.max.bytes`, which a topic inherits unless it sets `max.message.bytes`. */
export const brokerDefaultMaxMessageBytes = 1_048_588;

/**
 * What a record batch may add to `bytes` of records: its header (61 bytes), gzip's wrapper (18)
 * and gzip's growth of bytes that do not compress (zlib's deflateBound: about 0.03%), with room.
 */
export function batchHeadroomBytes(bytes: number): number {
  return 1024 + Math.ceil(bytes / 1024);
}

const codecs: Record<KafkaCompression, CompressionTypes> = { gzip: CompressionTypes.GZIP, none: CompressionTypes.None };

/**
 * Bytes a message takes in an uncompressed record batch, at most: key, value and headers in
 * UTF-8, plus the record's varint lengths, deltas and attributes at their widest (36 bytes) and
 * two varint lengths per header (10 bytes).
 */
export function recordBytes(message: { key: string; value: string; headers: Record<string, string> }): number {
  let bytes = 36 + Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers)) bytes += 10 + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** A publish waiting for Kafka, as the planner sees it: its events' sizes and how many went out. */
export interface PlannedPublish {
  readonly sizes: readonly number[];
  readonly sent: number;
}

/**
 * The next produce request: how many unsent events it takes from each waiting publish, from the
 * front of the queue (the result is as long as the number of publishes it touches). Whole
 * publishes while they fit in `budget` bytes, so a small refresh is one round trip; a publish
 * that does not fit is split only when it must be: it is first in the request, or larger than
 * the budget on its own (then it fills the request). An event larger than the budget goes
 * alone. Each publish's events are taken in order, from its first unsent one.
 */
export function planRequest(waiting: readonly PlannedPublish[], budget: number): number[] {
  const taken: number[] = [];
  let bytes = 0;
  for (const publish of waiting) {
    let unsentBytes = 0;
    for (let i = publish.sent; i < publish.sizes.length; i++) unsentBytes += publish.sizes[i]!;
    if (bytes + unsentBytes <= budget) {
      taken.push(publish.sizes.length - publish.sent);
      bytes += unsentBytes;
      continue;
    }
    if (taken.length > 0 && unsentBytes <= budget) break; // it goes whole in the next request
    let count = 0;
    while (publish.sent + count < publish.sizes.length && bytes + publish.sizes[publish.sent + count]! <= budget) {
      bytes += publish.sizes[publish.sent + count]!;
      count++;
    }
    if (count === 0 && taken.length === 0) count = 1; // larger than the budget: alone
    if (count > 0) taken.push(count);
    break;
  }
  return taken;
}

/** Kafka refused a request as too large (MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE). */
export class KafkaRequestTooLargeError extends Error {
  constructor(
    message: string,
    /** The largest event of the refused request: its id and its record bytes. */
    readonly largestEvent: { id: string; bytes: number },
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaRequestTooLargeError';
  }
}

const tooLargeErrorTypes = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether kafkajs' error, or one it wraps, is the broker refusing a batch's size. */
function isTooLarge(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if (tooLargeErrorTypes.has((e as { type?: unknown }).type as string)) return true;
    e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** CloudEvents `source` of fleetview's events (a URI-reference, per the spec). */
export const cloudEventsSource = 'fleetview';

export function eventHeaders(event: PublishableEvent): Record<string, string> {
  return {
    'event-id': event.id,
    ce_specversion: '1.0',
    ce_id: event.id,
    ce_type: `io.fleetview.${event.event}`,
    ce_source: event.cluster_id === null ? `${cloudEventsSource}/${event.id.split('/', 2).join('s/')}` : `${cloudEventsSource}/clusters/${event.cluster_id}`,
    ce_time: event.timestamp,
    'content-type': 'application/json',
    // An alerting consumer silences events of a cluster in maintenance without parsing the value.
    ...(event.maintenance ? { 'fleetview-maintenance': event.maintenance.until } : {}),
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

  const codec = codecs[options.compression];
  const configuredBudget = options.maxRequestBytes;
  /** The configured budget, or less when the topic's max.message.bytes is lower (see ensureTopic). */
  let budget = configuredBudget;

  /**
   * Publishes of refreshes that finish together share one produce request: the idempotent
   * producer has one request in flight at a time, so a request per refresh would queue behind
   * each other. A publish larger than the budget goes in several requests; after each, its rest
   * goes to the back of the queue, so the publishes of small clusters waiting meanwhile go out
   * in the next request instead of behind all of a large cluster's events. A cluster publishes
   * again only after its previous publish returned, so neither merging nor taking turns
   * reorders one cluster's events (a retry queued beside an attempt still going out repeats the
   * same events from the first: consumers keep the first copy of each id, still in order).
   */
  interface WaitingPublish {
    ids: string[];
    messages: Message[];
    sizes: number[];
    /** Events acknowledged so far; only ever the leading ones. */
    sent: number;
    resolve(): void;
    reject(err: unknown): void;
  }
  interface RequestPart {
    publish: WaitingPublish;
    from: number;
    to: number;
  }
  const waiting: WaitingPublish[] = [];
  let sending = false;

  const toMessage = (event: PublishableEvent) => {
    const value = JSON.stringify(event);
    return { key: eventKey(event), value, headers: eventHeaders(event), timestamp: String(Date.parse(event.timestamp)) };
  };

  /** Takes the next request's events out of the queue (see planRequest). */
  function takeRequest(): RequestPart[] {
    const counts = planRequest(waiting, budget);
    const parts = counts.map((count, i) => ({ publish: waiting[i]!, from: waiting[i]!.sent, to: waiting[i]!.sent + count }));
    waiting.splice(0, parts.length);
    return parts;
  }

  /** The error of a request the broker refused as too large: which events, how big, what to change. */
  function tooLargeError(parts: RequestPart[], cause: unknown): KafkaRequestTooLargeError {
    let count = 0;
    let bytes = 0;
    let largest = { id: '', bytes: -1 };
    for (const { publish, from, to } of parts) {
      for (let i = from; i < to; i++) {
        count++;
        bytes += publish.sizes[i]!;
        if (publish.sizes[i]! > largest.bytes) largest = { id: publish.ids[i]!, bytes: publish.sizes[i]! };
      }
    }
    const message =
      count === 1
        ? `Kafka refused event ${largest.id} as too large: ${largest.bytes} bytes, over the topic ${options.topic}'s max.message.bytes ` +
          "(the broker's message.max.bytes unless the topic sets its own); raise the topic's limit above the event's size"
        : `Kafka refused a produce request of ${count} events (${bytes} bytes before compression) to the topic ${options.topic} as too large: ` +
          `FLEETVIEW_KAFKA_MAX_REQUEST_BYTES (${budget}) must stay under the topic's max.message.bytes; ` +
          `its largest event was ${largest.id} of ${largest.bytes} bytes`;
    return new KafkaRequestTooLargeError(message, largest, { cause });
  }

  async function sendWaiting(): Promise<void> {
    sending = true;
    try {
      while (waiting.length > 0) {
        let parts: RequestPart[] = [];
        try {
          // The topic's max.message.bytes may cut the budget: learn it before planning a request.
          await publisher.ensureTopic();
          parts = takeRequest();
          const connected = await connectedProducer();
          const messages = parts.flatMap(({ publish, from, to }) => publish.messages.slice(from, to));
          await connected.send({ topic: options.topic, acks: -1, compression: codec, messages }).catch(async (err: unknown) => {
            await dropProducer();
            throw err;
          });
        } catch (err) {
          if (parts.length === 0) parts = takeRequest();
          // The failed publishes leave the queue for good: none of their later events goes out
          // after this failure; the caller retries each whole.
          const failure = isTooLarge(err) ? tooLargeError(parts, err) : err;
          for (const { publish } of parts) publish.reject(failure);
          continue;
        }
        for (const { publish, to } of parts) {
          publish.sent = to;
          if (publish.sent === publish.messages.length) publish.resolve();
          else waiting.push(publish);
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

  /**
   * The budget for the topic as it is: the configured one, cut to fit when the topic's
   * max.message.bytes (its own, or the broker's default) is lower, since a request over it would
   * be refused on every retry. A topic whose settings cannot be read (no DescribeConfigs right)
   * keeps the configured budget.
   */
  async function budgetForTopic(admin: Admin): Promise<number> {
    let limit: number;
    try {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: options.topic, configNames: ['max.message.bytes'] }],
      });
      limit = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    } catch (err) {
      options.logger.warn("could not read the events topic's max.message.bytes; produce requests keep the configured budget", { topic: options.topic, maxRequestBytes: configuredBudget, error: err });
      return configuredBudget;
    }
    if (!Number.isInteger(limit) || limit <= 0 || configuredBudget + batchHeadroomBytes(configuredBudget) <= limit) return configuredBudget;
    const fitted = Math.max(1, limit - batchHeadroomBytes(limit));
    options.logger.warn("FLEETVIEW_KAFKA_MAX_REQUEST_BYTES is over the events topic's max.message.bytes: produce requests are cut to fit the topic", {
      topic: options.topic,
      maxMessageBytes: limit,
      maxRequestBytes: configuredBudget,
      usedBytes: fitted,
    });
    return fitted;
  }

  const publisher: EventPublisher = {
    topic: options.topic,

    async ensureTopic() {
      if (topicReady) return;
      await withAdmin(async (admin) => {
        const existing = await admin.listTopics();
        if (!existing.includes(options.topic)) {
          const configEntries = [{ name: 'retention.ms', value: String(options.topicRetentionMs) }];
          // A budget above what the broker's default lets through is only usable with a topic
          // that takes it; smaller ones leave the broker's setting in force.
          const batchLimit = configuredBudget + batchHeadroomBytes(configuredBudget);
          if (batchLimit > brokerDefaultMaxMessageBytes) configEntries.push({ name: 'max.message.bytes', value: String(batchLimit) });
          await admin.createTopics({
            waitForLeaders: true,
            topics: [{ topic: options.topic, numPartitions: options.topicPartitions, configEntries }],
          });
          options.logger.info('created the events topic', {
            topic: options.topic,
            partitions: options.topicPartitions,
            retentionMs: options.topicRetentionMs,
            ...Object.fromEntries(configEntries.slice(1).map((e) => [e.name, e.value])),
          });
        }
        budget = await budgetForTopic(admin);
      });
      topicReady = true;
    },

    publish(events) {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const messages = events.map(toMessage);
        waiting.push({ ids: events.map((e) => e.id), messages, sizes: messages.map(recordBytes), sent: 0, resolve, reject });
        if (!sending) void sendWaiting();
      });
    },

    async close() {
      await dropProducer();
    },
  };
  return publisher;
}
