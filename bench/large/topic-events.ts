/**
 * The events of a bench:large run as read from its topic (TopicReader's onMessage), kept per
 * cluster in topic order, and the check of one refresh's events: every index of
 * `<cluster>/<generation>/<index>` from 0 to the expected count, in order, once.
 */
import type { MessageMeta } from '../fleet/topic-reader.js';

export interface TopicEvent {
  id: string;
  event: string;
  clusterId: string;
  /** The refresh's generation for refresh events; null for discovery events and unparsable ids. */
  generation: number | null;
  /** The index within the refresh; null when not a refresh event. */
  index: number | null;
  /** The envelope's `timestamp` (the refresh's workflow time), epoch ms. */
  timestampMs: number;
  /**
   * Kafka's timestamp. fleetview's publisher sets it to the event's own timestamp (the refresh's
   * start), so it says when the refresh began, not when the event reached the topic.
   */
  kafkaMs: number;
  /** When this benchmark's consumer received it (it polls every 200 ms): when the event was on the topic, at the latest. */
  receivedMs: number;
  partition: number;
  offset: bigint;
  address: string | null;
  shardId: string | null;
}

/** `<cluster>/<generation>/<index>` (the cluster id may hold `/`), or null: a discovery id or no refresh id. */
export function parseRefreshId(id: string): { clusterId: string; generation: number; index: number } | null {
  const match = /^(.+)\/(\d+)\/(\d+)$/.exec(id);
  if (!match) return null;
  return { clusterId: match[1]!, generation: Number(match[2]), index: Number(match[3]) };
}

/** A message's value as TopicEvent; null when it is not a fleetview event. */
export function toTopicEvent(value: unknown, meta: MessageMeta): TopicEvent | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as { id?: unknown; event?: unknown; cluster_id?: unknown; timestamp?: unknown; payload?: { address?: unknown; shard_id?: unknown } };
  if (typeof v.id !== 'string' || typeof v.event !== 'string') return null;
  const parsed = parseRefreshId(v.id);
  return {
    id: v.id,
    event: v.event,
    clusterId: typeof v.cluster_id === 'string' ? v.cluster_id : meta.key,
    generation: parsed?.generation ?? null,
    index: parsed?.index ?? null,
    timestampMs: typeof v.timestamp === 'string' ? Date.parse(v.timestamp) : Number.NaN,
    kafkaMs: meta.timestampMs,
    receivedMs: Date.now(),
    partition: meta.partition,
    offset: BigInt(meta.offset),
    address: typeof v.payload?.address === 'string' ? v.payload.address : null,
    shardId: typeof v.payload?.shard_id === 'string' ? v.payload.shard_id : null,
  };
}

/** Events by cluster, each list in topic order (partition, then offset: a cluster's events share its key's partition). */
export class ClusterEvents {
  private readonly byCluster = new Map<string, TopicEvent[]>();
  count = 0;

  add(event: TopicEvent): void {
    let list = this.byCluster.get(event.clusterId);
    if (!list) this.byCluster.set(event.clusterId, (list = []));
    const last = list[list.length - 1];
    list.push(event);
    // Messages of one partition arrive in offset order; sort only when they did not.
    if (last && (last.partition > event.partition || (last.partition === event.partition && last.offset > event.offset))) list.sort(topicOrder);
    this.count += 1;
  }

  of(clusterId: string): readonly TopicEvent[] {
    return this.byCluster.get(clusterId) ?? [];
  }

  /** The first event of `clusterId` matching `where` received at or after `sinceMs`. */
  first(clusterId: string, sinceMs: number, where: (event: TopicEvent) => boolean): TopicEvent | undefined {
    return this.of(clusterId).find((event) => event.receivedMs >= sinceMs && where(event));
  }
}

function topicOrder(a: TopicEvent, b: TopicEvent): number {
  return a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
}

/** The lowest generation among the cluster's refresh events: its first refresh (null while none came). */
export function firstGeneration(events: readonly TopicEvent[]): number | null {
  let lowest: number | null = null;
  for (const event of events) if (event.generation !== null && (lowest === null || event.generation < lowest)) lowest = event.generation;
  return lowest;
}

export interface RefreshCheck {
  generation: number | null;
  expected: number;
  /** Messages of this generation on the topic (duplicates included). */
  seen: number;
  /** Distinct indexes from 0 to expected − 1 seen. */
  distinct: number;
  missing: number;
  /** The first few missing indexes, for the report. */
  first_missing: number[];
  /** Messages whose index had been seen before (a repeated publish). */
  duplicates: number;
  /** Indexes seen at or past the expected count (more events than the shape makes). */
  unexpected: number;
  /** Times a new index came after a higher one (out of order on the topic). */
  out_of_order: number;
  /** Every index 0 .. expected − 1 there, nothing else, each once and in order. */
  complete_in_order_once: boolean;
  /** When the message that completed the set (all expected indexes seen) was received; null while incomplete. */
  completed_ms: number | null;
  by_code: Record<string, number>;
}

/** Checks the events of refresh `generation` in `events` (one cluster's, in topic order) against `expected` of them. */
export function checkRefreshEvents(events: readonly TopicEvent[], generation: number | null, expected: number): RefreshCheck {
  const seenIndexes = new Set<number>();
  const by_code: Record<string, number> = {};
  let seen = 0;
  let duplicates = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  let highest = -1;
  let distinct = 0;
  let completedMs: number | null = null;
  if (generation !== null) {
    for (const event of events) {
      if (event.generation !== generation || event.index === null) continue;
      seen += 1;
      if (seenIndexes.has(event.index)) {
        duplicates += 1;
        continue;
      }
      seenIndexes.add(event.index);
      by_code[event.event] = (by_code[event.event] ?? 0) + 1;
      if (event.index >= expected) unexpected += 1;
      else distinct += 1;
      if (event.index < highest) outOfOrder += 1;
      highest = Math.max(highest, event.index);
      if (completedMs === null && distinct === expected) completedMs = event.receivedMs;
    }
  }
  const firstMissing: number[] = [];
  for (let index = 0; index < expected && firstMissing.length < 5; index++) if (!seenIndexes.has(index)) firstMissing.push(index);
  return {
    generation,
    expected,
    seen,
    distinct,
    missing: expected - distinct,
    first_missing: firstMissing,
    duplicates,
    unexpected,
    out_of_order: outOfOrder,
    complete_in_order_once: distinct === expected && duplicates === 0 && unexpected === 0 && outOfOrder === 0,
    completed_ms: completedMs,
    by_code,
  };
}
