/**
 * The fleet page's feed of the events topic: a topic reader (./topic-reader.ts) started at the
 * last `backlogPerPartition` events of each partition so the pages have recent events at once,
 * then following. It hands every message value on (parsed JSON, or
 * null when it is not JSON) and never throws: a Kafka that is down, or a topic that does not
 * exist yet, is a status the pages show, and the feed tries again every `retryMs` until stopped.
 */
import type { KafkaClient } from './clients.js';
import { within } from './deadline.js';
import type { Logger } from './logger.js';
import { lastEventsStart, topicRanges } from './topic-consumer.js';
import { startTopicReader, uniqueGroupId } from './topic-reader.js';

export interface EventFeedStatus {
  state: 'starting' | 'live' | 'retrying' | 'stopped';
  /** When the state began (ISO 8601). */
  since: string;
  /** Why it is not live, while retrying. */
  error: string | null;
  /** Messages read since the start. */
  read: number;
}

export interface EventFeed {
  status(): EventFeedStatus;
  /** Stops within a bound; nothing is left connected. */
  stop(): Promise<void>;
}

export interface EventFeedOptions {
  kafka: KafkaClient;
  topic: string;
  /** Consumer groups are `<groupPrefix>-<random>`, one per start. */
  groupPrefix: string;
  /** Events already in each partition to read first (0: only new ones). */
  backlogPerPartition: number;
  onMessage(value: unknown): void;
  logger: Logger;
  retryMs?: number;
  /** Bound of each step of a start (admin calls, connect, join). */
  stepTimeoutMs?: number;
}

export function startEventFeed(options: EventFeedOptions): EventFeed {
  const { kafka, topic, logger } = options;
  const retryMs = options.retryMs ?? 5_000;
  const stepMs = options.stepTimeoutMs ?? 30_000;
  const stopping = new AbortController();
  let status: EventFeedStatus = { state: 'starting', since: new Date().toISOString(), error: null, read: 0 };
  const setState = (state: EventFeedStatus['state'], error: string | null = null) => {
    if (status.state !== state || status.error !== error) status = { ...status, state, since: new Date().toISOString(), error };
  };

  /** Where each partition starts: the last `backlogPerPartition` events. */
  async function startOffsets(): Promise<Map<number, bigint>> {
    const ranges = await topicRanges(kafka, topic, (work, what) => within(work, stepMs, what, stopping.signal));
    if (ranges === null) throw new Error(`the events topic ${JSON.stringify(topic)} does not exist yet (the worker or fleetview start creates it)`);
    return new Map(ranges.map((range) => [range.partition, lastEventsStart(range, options.backlogPerPartition)]));
  }

  /** One consumer's life: resolves when it crashed for good (then the loop starts another) or the feed stops. */
  async function follow(): Promise<void> {
    const from = await startOffsets();
    let crashed: (error: string) => void = () => undefined;
    const crash = new Promise<string>((resolve) => (crashed = resolve));
    const reader = await startTopicReader({
      kafka,
      topic,
      groupId: uniqueGroupId(options.groupPrefix),
      from,
      startTimeoutMs: stepMs,
      signal: stopping.signal,
      onMessage: (message) => {
        status.read += 1;
        options.onMessage(message.value);
      },
      onCrash: (error) => crashed(error.message),
    });
    setState('live');
    logger.info('fleet page: following the events topic', { topic });
    const stopped = new Promise<null>((resolve) => stopping.signal.addEventListener('abort', () => resolve(null), { once: true }));
    try {
      const error = await Promise.race([crash, stopped]);
      if (error !== null) throw new Error(`the consumer stopped: ${error}`);
    } finally {
      await reader.stop(10_000).catch(() => undefined);
    }
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await follow();
      } catch (err) {
        if (stopping.signal.aborted) break;
        const message = err instanceof Error ? err.message : String(err);
        setState('retrying', message);
        logger.warn('fleet page: cannot follow the events topic; trying again', { topic, error: message, retry_ms: retryMs });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          stopping.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
    setState('stopped');
  })();

  return {
    status: () => ({ ...status }),
    async stop() {
      stopping.abort();
      await within(loop, 20_000, 'stopping the events topic reader').catch(() => undefined);
    },
  };
}
