/**
 * Reads fleetview's events topic for operators (the CLI's `events`, the demo): first the events
 * already there (all of them, or the last N), merged across partitions in time order, then, when
 * following, every new event as it arrives. A consumer group of its own per reader, never
 * committed: reading changes nothing for other consumers.
 */
import type { KafkaClient } from '../adapters/clients.js';
import { within } from '../adapters/deadline.js';
import { lastEventsStart, topicRanges } from '../adapters/topic-consumer.js';
import { startTopicReader, uniqueGroupId, type TopicMessage } from '../adapters/topic-reader.js';
import type { FleetEvent } from '../domain/event-catalogue.js';

/** The events topic is not there (yet): nothing to read. */
export class TopicNotFoundError extends Error {
  override name = 'TopicNotFoundError';
}

export interface ReadEventsOptions {
  kafka: KafkaClient;
  topic: string;
  /** Events already in the topic to show first: every retained one, or the last N (0: none). */
  history: 'all' | number;
  /** Only this cluster's events (the message key). */
  cluster?: string | undefined;
  /** Keep reading new events until `signal` aborts. */
  follow: boolean;
  signal?: AbortSignal | undefined;
  onEvent(event: FleetEvent): void;
  /** Called once the existing events have been shown (before following). */
  onCaughtUp?: () => void;
  /** Called with messages that are not fleetview events. */
  onSkipped?: (reason: string) => void;
  /** Fails when the existing events are not all read within this time. */
  catchUpTimeoutMs?: number;
}

interface Positioned {
  event: FleetEvent;
  partition: number;
  offset: bigint;
}

/**
 * Events about a discovery (cluster_id null) have always been skipped here as "not a fleetview
 * event"; kept as it was when this reader moved onto the shared one.
 */
function operatorEvent(message: TopicMessage): FleetEvent | null {
  return message.event !== null && message.event.cluster_id !== null ? message.event : null;
}

function byTime(a: Positioned, b: Positioned): number {
  if (a.event.timestamp !== b.event.timestamp) return a.event.timestamp < b.event.timestamp ? -1 : 1;
  if (a.partition !== b.partition) return a.partition - b.partition;
  return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
}

export async function readEvents(options: ReadEventsOptions): Promise<void> {
  const { signal } = options;
  const catchUpTimeoutMs = options.catchUpTimeoutMs ?? 30_000;
  // Ctrl-C ends every step at once: a broker that accepts connections and never answers holds nobody.
  const step = <T>(work: Promise<T>, what: string) => within(work, catchUpTimeoutMs, what, signal);
  let ranges: Array<{ partition: number; start: bigint; high: bigint }>;
  try {
    const offsets = await topicRanges(options.kafka, options.topic, step);
    if (offsets === null) throw new TopicNotFoundError(`the events topic ${JSON.stringify(options.topic)} does not exist yet (fleetview start creates it)`);
    // Filtering by cluster needs the whole history: its last N events can be anywhere.
    const fromLow = options.history === 'all' || options.cluster !== undefined;
    const lastN = options.history === 'all' ? 0 : options.history;
    ranges = offsets.map((range) => ({ partition: range.partition, start: fromLow ? range.low : lastEventsStart(range, lastN), high: range.high }));
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }

  const behind = new Set(ranges.filter((range) => range.start < range.high).map((range) => range.partition));
  if (behind.size === 0 && !options.follow) {
    options.onCaughtUp?.();
    return;
  }

  const matches = (event: FleetEvent) => options.cluster === undefined || event.cluster_id === options.cluster;
  const history: Positioned[] = [];
  let caughtUp = false;
  let finish: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  const catchUp = () => {
    if (caughtUp) return;
    caughtUp = true;
    const shown = history.filter((item) => matches(item.event)).sort(byTime);
    const kept = options.history === 'all' ? shown : shown.slice(Math.max(0, shown.length - options.history));
    for (const item of kept) options.onEvent(item.event);
    history.length = 0;
    options.onCaughtUp?.();
    if (!options.follow) finish();
  };

  const startOf = new Map(ranges.map((range) => [range.partition, range]));
  const reader = await startTopicReader({
    kafka: options.kafka,
    topic: options.topic,
    groupId: uniqueGroupId('fleetview-cli'),
    from: new Map(ranges.map((range) => [range.partition, range.start])),
    startTimeoutMs: catchUpTimeoutMs,
    signal,
    onMessage: (message) => {
      const { partition, offset } = message;
      const range = startOf.get(partition);
      const event = operatorEvent(message);
      if (event === null) options.onSkipped?.(`partition ${partition} offset ${offset}: not a fleetview event`);
      const isHistory = range !== undefined && offset < range.high;
      if (event !== null) {
        if (isHistory || !caughtUp) history.push({ event, partition, offset });
        else if (matches(event)) options.onEvent(event);
      }
      if (range && offset >= range.high - 1n) behind.delete(partition);
      if (behind.size === 0) catchUp();
    },
  }).catch((err: unknown) => {
    // Ctrl-C before the consumer joined: nothing was read, nothing is left open.
    if (signal?.aborted) return null;
    throw err;
  });
  if (reader === null) return;
  try {
    if (behind.size === 0) catchUp();

    const timeout = setTimeout(() => {
      if (!caughtUp) fail(new Error(`could not read the existing events of ${options.topic} within ${catchUpTimeoutMs} ms`));
    }, catchUpTimeoutMs);
    const onAbort = () => finish();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) finish();
    try {
      await done;
    } finally {
      clearTimeout(timeout);
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    await reader.stop(5_000);
  }
}
