/**
 * The fleet page's events, in memory and bounded: what one Kafka consumer per server reads goes
 * through here to every open events page (server-sent events), and the last few per cluster stay
 * for the cluster pages. Pure (no I/O): src/adapters/event-feed.ts feeds it.
 *
 * Bounds: the last `recent` events of the fleet, the last `recentPerCluster` of at most
 * `maxClusters` clusters (the least recently active dropped first), the ids of the last
 * `recentIds` events (delivery is at least once: a copy under a seen id is dropped), at most
 * `maxSubscribers` open streams, and per stream at most `maxQueued` events not yet written: a
 * client that falls that far behind is dropped, not buffered for (its browser reconnects and
 * resumes from the last event it got, while that is still among the recent ones).
 */
import { eventDetail, eventSubject } from '../cli/event-format.js';
import { eventCategoryByCode, type EventCode, type FleetEvent } from '../domain/event-catalogue.js';
import { clusterIdPattern } from '../domain/ids.js';
import { oneLine } from '../domain/text.js';

/** One event as the pages show it: short, one-line texts only. */
export interface LiveEvent {
  /** Where it is in this server's stream: `<instance>:<seq>` (the SSE id). */
  position: string;
  seq: number;
  id: string;
  timestamp: string;
  /** Null on events about a discovery (category DISCOVERY): `discovery` names it. */
  cluster_id: string | null;
  /** The discovery a DISCOVERY event is about, else null. */
  discovery: string | null;
  /** Set on events of a cluster in a maintenance window: an alert about it can wait. */
  maintenance: { until: string; reason: string } | null;
  category: string;
  event: EventCode;
  /** The node it is about (datastore node id, else agent address), or `-`. */
  node: string;
  /** What changed, in a few words. */
  detail: string;
}

export interface EventFilter {
  cluster: string | null;
  /** Only these codes (empty: all). */
  codes: readonly EventCode[];
}

export interface EventHubOptions {
  /** Names this server's stream positions, so a browser reconnecting after a restart starts afresh. */
  instance: string;
  recent?: number;
  recentPerCluster?: number;
  maxClusters?: number;
  recentIds?: number;
  maxSubscribers?: number;
  maxQueued?: number;
}

export const hubDefaults = { recent: 2_000, recentPerCluster: 50, maxClusters: 2_000, recentIds: 20_000, maxSubscribers: 100, maxQueued: 1_000 };

const maxDetail = 300;

/** The page's form of a Kafka message value, or null when it is not a fleetview event. */
export function liveEventOf(value: unknown): Omit<LiveEvent, 'position' | 'seq'> | null {
  if (typeof value !== 'object' || value === null) return null;
  const envelope = value as Partial<Record<keyof FleetEvent, unknown>>;
  const { id, event, cluster_id: clusterId, timestamp } = envelope;
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof event !== 'string' || !Object.hasOwn(eventCategoryByCode, event)) return null;
  const category = eventCategoryByCode[event as EventCode];
  // Events about a discovery carry no cluster; every other event names a valid one.
  if (category === 'DISCOVERY' ? clusterId !== null : typeof clusterId !== 'string' || !clusterIdPattern.test(clusterId)) return null;
  const payload = envelope.payload as { discovery?: unknown } | null | undefined;
  const discovery = category === 'DISCOVERY' && typeof payload?.discovery === 'string' ? oneLine(payload.discovery, 200) : null;
  if (category === 'DISCOVERY' && discovery === null) return null;
  const mark = envelope.maintenance as { until?: unknown; reason?: unknown } | null | undefined;
  const maintenance =
    typeof mark === 'object' && mark !== null && typeof mark.until === 'string' ? { until: oneLine(mark.until, 40), reason: typeof mark.reason === 'string' ? oneLine(mark.reason, 200) : '' } : null;
  let detail: string;
  let node: string;
  try {
    detail = eventDetail(value as FleetEvent);
    node = eventSubject(value as FleetEvent);
  } catch {
    // A payload of another shape (a newer schema, a hand-made message): the envelope still says what happened.
    detail = '(payload not readable)';
    node = typeof envelope.node_id === 'string' ? envelope.node_id : '-';
  }
  return {
    id: oneLine(id, 200),
    timestamp: oneLine(timestamp, 40),
    cluster_id: category === 'DISCOVERY' ? null : (clusterId as string),
    discovery,
    maintenance,
    category,
    event: event as EventCode,
    node: oneLine(node, 300),
    detail: oneLine(detail, maxDetail),
  };
}

export function matchesFilter(event: LiveEvent, filter: EventFilter): boolean {
  return (filter.cluster === null || event.cluster_id === filter.cluster) && (filter.codes.length === 0 || filter.codes.includes(event.event));
}

/** Why a stream ended: closed by the server or the client, or dropped for falling behind. */
export type EndReason = 'closed' | 'slow';

/** One open stream's queue of events not yet written; iterate it to write them. */
export class Subscription implements AsyncIterable<LiveEvent> {
  private queue: LiveEvent[] = [];
  private waiting: ((result: IteratorResult<LiveEvent>) => void) | null = null;
  private endReason: EndReason | null = null;
  private readonly onEnd: () => void;

  constructor(
    readonly filter: EventFilter,
    private readonly maxQueued: number,
    onEnd: () => void,
  ) {
    this.onEnd = onEnd;
  }

  get ended(): EndReason | null {
    return this.endReason;
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  push(event: LiveEvent): void {
    if (this.endReason || !matchesFilter(event, this.filter)) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > this.maxQueued) this.end('slow');
  }

  /** Ends the stream: what is still queued is dropped. */
  end(reason: EndReason = 'closed'): void {
    if (this.endReason) return;
    this.endReason = reason;
    this.queue = [];
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.({ value: undefined, done: true });
    this.onEnd();
  }

  next(): Promise<IteratorResult<LiveEvent>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.endReason) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveEvent> {
    return { next: () => this.next(), return: () => (this.end(), Promise.resolve({ value: undefined, done: true })) };
  }
}

export class EventHub {
  readonly instance: string;
  private readonly limits: typeof hubDefaults;
  private seq = 0;
  /** The fleet's recent events, oldest first. */
  private ring: LiveEvent[] = [];
  /** Per cluster, its recent events, oldest first; the map's order is the clusters' last activity. */
  private readonly byCluster = new Map<string, LiveEvent[]>();
  private readonly seenIds = new Set<string>();
  private readonly subscribers = new Set<Subscription>();
  /** Streams dropped for falling behind, since the start. */
  droppedSlow = 0;

  constructor(options: EventHubOptions) {
    if (!/^[A-Za-z0-9]{1,32}$/.test(options.instance)) throw new Error(`an event hub instance is 1 to 32 letters or digits, got ${JSON.stringify(options.instance)}`);
    this.instance = options.instance;
    this.limits = {
      recent: options.recent ?? hubDefaults.recent,
      recentPerCluster: options.recentPerCluster ?? hubDefaults.recentPerCluster,
      maxClusters: options.maxClusters ?? hubDefaults.maxClusters,
      recentIds: options.recentIds ?? hubDefaults.recentIds,
      maxSubscribers: options.maxSubscribers ?? hubDefaults.maxSubscribers,
      maxQueued: options.maxQueued ?? hubDefaults.maxQueued,
    };
  }

  /** Takes one Kafka message value; returns the event as kept, or null (not an event, or a copy). */
  add(value: unknown): LiveEvent | null {
    const parsed = liveEventOf(value);
    if (parsed === null || this.seenIds.has(parsed.id)) return null;
    this.seenIds.add(parsed.id);
    if (this.seenIds.size > this.limits.recentIds) this.seenIds.delete(this.seenIds.values().next().value!);
    this.seq += 1;
    const event: LiveEvent = { ...parsed, seq: this.seq, position: `${this.instance}:${this.seq}` };
    this.ring.push(event);
    // Cut in batches, so a burst does not copy the ring on every event.
    if (this.ring.length > this.limits.recent * 1.25) this.ring = this.ring.slice(-this.limits.recent);
    if (event.cluster_id !== null) {
      const mine = this.byCluster.get(event.cluster_id) ?? [];
      this.byCluster.delete(event.cluster_id);
      mine.push(event);
      if (mine.length > this.limits.recentPerCluster) mine.shift();
      this.byCluster.set(event.cluster_id, mine);
      if (this.byCluster.size > this.limits.maxClusters) this.byCluster.delete(this.byCluster.keys().next().value!);
    }
    for (const subscriber of this.subscribers) {
      subscriber.push(event);
      if (subscriber.ended === 'slow') this.droppedSlow++;
    }
    return event;
  }

  private window(): LiveEvent[] {
    return this.ring.length > this.limits.recent ? this.ring.slice(-this.limits.recent) : this.ring;
  }

  /** The last `limit` events that match, oldest first. */
  recent(filter: EventFilter, limit: number): LiveEvent[] {
    if (limit <= 0) return [];
    const source = filter.cluster === null ? this.window() : (this.byCluster.get(filter.cluster) ?? []);
    const out: LiveEvent[] = [];
    for (let i = source.length - 1; i >= 0 && out.length < limit; i--) if (matchesFilter(source[i]!, filter)) out.push(source[i]!);
    return out.reverse();
  }

  /** The position of the newest event (what a page rendered up to). */
  get position(): string {
    return `${this.instance}:${this.seq}`;
  }

  /**
   * What a stream resuming after `position` missed: every matching event since, when they are all
   * still among the recent ones; else the last `limit` and `gap` (some were missed for good).
   */
  since(position: string | null, filter: EventFilter, limit: number): { events: LiveEvent[]; gap: boolean } {
    const [instance, seqText] = position?.split(':') ?? [];
    const after = Number(seqText);
    const window = this.window();
    const oldest = window[0]?.seq ?? this.seq + 1;
    if (instance !== this.instance || !Number.isSafeInteger(after) || after > this.seq || after < oldest - 1) {
      return { events: this.recent(filter, limit), gap: position !== null };
    }
    return { events: window.filter((event) => event.seq > after && matchesFilter(event, filter)), gap: false };
  }

  /** A new stream's queue, or null when `maxSubscribers` are open already. */
  subscribe(filter: EventFilter): Subscription | null {
    if (this.subscribers.size >= this.limits.maxSubscribers) return null;
    const subscription = new Subscription(filter, this.limits.maxQueued, () => this.subscribers.delete(subscription));
    this.subscribers.add(subscription);
    return subscription;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    for (const subscriber of [...this.subscribers]) subscriber.end('closed');
  }
}
