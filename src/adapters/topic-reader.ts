/**
 * The one reader of fleetview's events topic: the CLI's `events`, the fleet page, the demo, the
 * tests and the benchmarks read through it. It hands over every message once, decoded (the JSON
 * value, the event envelope when it is one, key, headers, record time, partition and offset),
 * from the beginning of the topic or from given offsets per partition. A consumer group of the
 * caller's naming, never committed: reading changes nothing for other consumers.
 */
import { randomBytes } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import type { FleetEvent } from '../domain/event-catalogue.js';
import type { KafkaClient } from './clients.js';
import { startTopicConsumer } from './topic-consumer.js';

export interface TopicMessage {
  partition: number;
  offset: bigint;
  /** The Kafka key: the cluster id, or `discovery/<name>` for an event about a discovery. */
  key: string;
  /** The record's time (fleetview sets it to the event's own time, not when it was published). */
  timestampMs: number;
  headers: Record<string, string>;
  /** The value as JSON; null when it is not JSON, or larger than any fleetview event. */
  value: unknown;
  /** The value as a fleetview event envelope; null when it is not one. */
  event: FleetEvent | null;
}

export interface TopicReaderOptions {
  kafka: KafkaClient;
  topic: string;
  /** The reader's own consumer group (uniqueGroupId makes one). */
  groupId: string;
  /**
   * Where reading starts: every message the topic holds, or these offsets per partition
   * (a partition not named starts at its beginning).
   */
  from: 'beginning' | ReadonlyMap<number, bigint>;
  onMessage(message: TopicMessage): void;
  /** Called when kafkajs gives up on the consumer (after a retriable failure it restarts it itself). */
  onCrash?(error: Error): void;
  /** Wait up to this long for the topic to exist (default 0: it must exist). */
  waitForTopicMs?: number;
  /** Bound of connect + subscribe + the first join (default 60 s). */
  startTimeoutMs?: number;
  maxWaitTimeInMs?: number;
  /** Ends the start early (Ctrl-C): the start then rejects with an AbortError. */
  signal?: AbortSignal | undefined;
}

export interface TopicReader {
  /** Stops and disconnects within `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
}

/** Larger values are not a fleetview event (the biggest, a CLUSTER_NEW of a 2,000-node record, is ~200 KB). */
const maxMessageBytes = 4 * 1024 * 1024;

/** `<prefix>-<random>`: a consumer group no other reader uses. */
export function uniqueGroupId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

function parseValue(value: Buffer | null): unknown {
  if (value === null || value.length > maxMessageBytes) return null;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** The envelope's identifying fields are there: an event code, and a cluster (null for events about a discovery). */
export function asFleetEvent(value: unknown): FleetEvent | null {
  const candidate = value as Partial<FleetEvent> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.event !== 'string') return null;
  return typeof candidate.cluster_id === 'string' || candidate.cluster_id === null ? (candidate as FleetEvent) : null;
}

function decode(partition: number, message: KafkaMessage): TopicMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
  const value = parseValue(message.value);
  return {
    partition,
    offset: BigInt(message.offset),
    key: message.key?.toString() ?? '',
    timestampMs: Number(message.timestamp),
    headers,
    value,
    event: asFleetEvent(value),
  };
}

export async function startTopicReader(options: TopicReaderOptions): Promise<TopicReader> {
  const { topic } = options;
  const starts = options.from === 'beginning' ? new Map<number, bigint>() : options.from;
  /** The next offset to hand over per partition: a consumer that rejoins its group goes on from there, and nothing is handed over twice. */
  const next = new Map<number, bigint>();
  const reader = await startTopicConsumer({
    kafka: options.kafka,
    topic,
    groupId: options.groupId,
    startTimeoutMs: options.startTimeoutMs,
    maxWaitTimeInMs: options.maxWaitTimeInMs,
    waitForTopicMs: options.waitForTopicMs,
    signal: options.signal,
    // kafkajs restarts a consumer whose group join failed (a coordinator still loading on a young
    // or busy broker): seek whenever the group is joined, not only after the first join.
    onGroupJoin: (consumer) => {
      for (const partition of new Set([...starts.keys(), ...next.keys()])) {
        const offset = next.get(partition) ?? starts.get(partition)!;
        consumer.seek({ topic, partition, offset: offset.toString() });
      }
    },
    eachMessage: ({ partition, message }) => {
      const offset = BigInt(message.offset);
      if (offset < (next.get(partition) ?? starts.get(partition) ?? 0n)) return;
      next.set(partition, offset + 1n);
      options.onMessage(decode(partition, message));
    },
  });
  const { consumer } = reader;
  const removeCrashListener = options.onCrash
    ? consumer.on(consumer.events.CRASH, (event: { payload: { error: Error; restart: boolean } }) => {
        if (!event.payload.restart) options.onCrash?.(event.payload.error);
      })
    : () => undefined;
  return {
    async stop(timeoutMs) {
      removeCrashListener();
      await reader.stop(timeoutMs);
    },
  };
}
