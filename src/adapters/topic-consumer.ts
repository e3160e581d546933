/**
 * A kafkajs consumer of one topic that either starts or leaves nothing behind, and that lets go
 * when stopped: what the topic reader (./topic-reader.ts) consumes the events topic with.
 *
 * What kafkajs 2.2.4 does that this works around (facts from its source, src/consumer/index.js
 * and runner.js, and its issues #1147, #1639, #967):
 * - a consumer whose group join or fetch fails is disconnected and started again after a delay,
 *   unless `retry.restartOnFailure` says no. A join still in flight when the caller disconnects
 *   fails, and the restart then reconnects a consumer its owner already closed: sockets and a
 *   heartbeat nobody stops, and a process that never exits. Here restartOnFailure answers no
 *   once stop() was called.
 * - `disconnect()` while `run()` has not resolved races the join (#1639); stop() first waits
 *   (bounded) for run() to resolve.
 * - a consumer that connected but could not subscribe (the topic does not exist yet) stays
 *   connected; start() disconnects it before it throws.
 * Every step has a deadline and fails naming the topic, the group and the step.
 */
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { within } from './deadline.js';

export interface TopicConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** Where a group without committed offsets starts (default: the beginning). */
  fromBeginning?: boolean;
  /** Commit offsets (default false: fleetview's readers read, they do not move a group on). */
  autoCommit?: boolean;
  maxWaitTimeInMs?: number;
  eachMessage(payload: EachMessagePayload): Promise<void> | void;
  /** Called each time the consumer has joined its group (after a restart too): readers that seek do it here. */
  onGroupJoin?(consumer: Consumer): void;
  /** Wait up to this long for the topic to exist before subscribing (default 0: it must exist). */
  waitForTopicMs?: number;
  /** Bound of connect + subscribe + the first join (default 60 s). */
  startTimeoutMs?: number;
  /** Ends the start early (Ctrl-C): start() then rejects with an AbortError. */
  signal?: AbortSignal | undefined;
}

export interface TopicConsumer {
  readonly consumer: Consumer;
  /** Stops and disconnects within `timeoutMs` (default 10 s); no restart happens after it was called. */
  stop(timeoutMs?: number): Promise<void>;
}

async function waitForTopic(kafka: Kafka, topic: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  await within(admin.connect(), timeoutMs, `connecting to Kafka to look for the topic ${JSON.stringify(topic)}`, signal);
  try {
    for (;;) {
      const topics = await within(admin.listTopics(), 10_000, `listing Kafka's topics to find ${JSON.stringify(topic)}`, signal);
      if (topics.includes(topic)) return;
      if (Date.now() + 200 > deadline) throw new Error(`the topic ${JSON.stringify(topic)} does not exist (waited ${timeoutMs} ms for it)`);
      await within(new Promise((resolve) => setTimeout(resolve, 200)), 1_000, 'a pause between two looks for the topic', signal);
    }
  } finally {
    await within(admin.disconnect(), 5_000, 'disconnecting the Kafka admin client').catch(() => undefined);
  }
}

export async function startTopicConsumer(options: TopicConsumerOptions): Promise<TopicConsumer> {
  const { kafka, topic, groupId, signal } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const where = `the Kafka consumer of ${JSON.stringify(topic)} (group ${groupId})`;
  if (options.waitForTopicMs) await waitForTopic(kafka, topic, options.waitForTopicMs, signal);

  let stopping = false;
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 250,
    retry: { retries: 5, restartOnFailure: () => Promise.resolve(!stopping) },
  });
  const removeJoinListener = options.onGroupJoin ? consumer.on(consumer.events.GROUP_JOIN, () => options.onGroupJoin?.(consumer)) : () => undefined;
  let running: Promise<void> = Promise.resolve();

  const stop = async (timeoutMs = 10_000): Promise<void> => {
    stopping = true;
    const deadline = Date.now() + timeoutMs;
    // A disconnect racing the first join leaves a consumer that kafkajs restarts (#1639): let run()
    // settle first, for at most half the budget, so the disconnect always gets the other half.
    await within(running, Math.ceil(timeoutMs / 2), `${where}: its start to settle before stopping`).catch(() => undefined);
    try {
      await within(consumer.disconnect(), Math.max(1, deadline - Date.now()), `${where}: disconnect`);
    } finally {
      removeJoinListener();
    }
  };

  const deadline = Date.now() + startTimeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  try {
    await within(consumer.connect(), left(), `${where}: connect`, signal);
    await within(consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true }), left(), `${where}: subscribe`, signal);
    running = consumer.run({ autoCommit: options.autoCommit ?? false, eachMessage: async (payload) => options.eachMessage(payload) });
    await within(running, left(), `${where}: join the group`, signal);
  } catch (err) {
    await stop(5_000).catch(() => undefined);
    throw err;
  }
  return { consumer, stop };
}

/** One partition of a topic: its first retained offset and the next offset to be written. */
export interface PartitionRange {
  partition: number;
  low: bigint;
  high: bigint;
}

/**
 * The offsets of every partition of `topic`, or null when the topic does not exist (the caller
 * says what that means to its user). `step` bounds each admin call; the admin client is closed
 * whatever happens.
 */
export async function topicRanges(kafka: Kafka, topic: string, step: <T>(work: Promise<T>, what: string) => Promise<T>): Promise<PartitionRange[] | null> {
  const admin = kafka.admin();
  try {
    await step(admin.connect(), 'connecting to Kafka');
    const topics = await step(admin.listTopics(), "listing Kafka's topics");
    if (!topics.includes(topic)) return null;
    const offsets = await step(admin.fetchTopicOffsets(topic), `reading the offsets of ${topic}`);
    return offsets.map(({ partition, low, high }) => ({ partition, low: BigInt(low), high: BigInt(high) }));
  } finally {
    await within(admin.disconnect(), 5_000, 'disconnecting from Kafka').catch(() => undefined);
  }
}

/** Where to start reading a partition to see its last `count` events (all it holds, when fewer). */
export function lastEventsStart(range: PartitionRange, count: number): bigint {
  const from = range.high - BigInt(count);
  return from > range.low ? from : range.low;
}
