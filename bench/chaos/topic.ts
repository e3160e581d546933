/**
 * The events topic as the chaos run reads it: live, to let each cluster's script go on once the
 * events of its last change are out (a reader that can be started again after Kafka was down),
 * and whole at the end, every copy of every message with its partition, offset and timestamp,
 * for the oracle.
 */
import { randomBytes } from 'node:crypto';
import type { KafkaClient } from '../../src/adapters/clients.js';
import { topicRanges } from '../../src/adapters/topic-consumer.js';
import { delay } from '../fleet/processes.js';
import { TopicReader, type MessageMeta } from '../fleet/topic-reader.js';

export interface TopicMessage {
  value: unknown;
  meta: MessageMeta;
}

/** A reader from the beginning under a fresh consumer group; restart() replaces it (consumers drop duplicates by id). */
export class LiveTopic {
  private reader: TopicReader | null = null;
  private lastMessageMs = 0;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly topic: string,
    private readonly onValue: (value: unknown) => void,
  ) {}

  async start(): Promise<void> {
    const reader = new TopicReader(this.kafka, this.topic, `chaos-live-${randomBytes(4).toString('hex')}`, (value) => {
      this.lastMessageMs = Date.now();
      this.onValue(value);
    });
    await reader.start();
    this.reader = reader;
  }

  /** A new reader: the old one may have given up while the broker was away. */
  async restart(): Promise<void> {
    const old = this.reader;
    this.reader = null;
    await old?.stop().catch(() => undefined);
    await this.start();
  }

  quietForMs(): number {
    return Date.now() - this.lastMessageMs;
  }

  async stop(): Promise<void> {
    await this.reader?.stop().catch(() => undefined);
    this.reader = null;
  }
}

/** Every message of the topic, in partition and offset order: read until each partition's end offset as the broker gives it now. */
export async function readWholeTopic(kafka: KafkaClient, topic: string, timeoutMs: number): Promise<TopicMessage[]> {
  const ranges = await topicRanges(kafka, topic, (work) => work);
  if (ranges === null) throw new Error(`the topic ${topic} does not exist`);
  const ends = new Map(ranges.map(({ partition, low, high }) => [partition, { low, high }]));
  const messages: TopicMessage[] = [];
  const next = new Map<number, bigint>([...ends].map(([partition, { low }]) => [partition, low]));
  const reader = new TopicReader(kafka, topic, `chaos-oracle-${randomBytes(4).toString('hex')}`, (value, meta) => {
    messages.push({ value, meta });
    const offset = BigInt(meta.offset) + 1n;
    if (offset > (next.get(meta.partition) ?? 0n)) next.set(meta.partition, offset);
  });
  await reader.start();
  try {
    const deadline = Date.now() + timeoutMs;
    const done = (): boolean => [...ends].every(([partition, { high }]) => (next.get(partition) ?? 0n) >= high);
    while (!done()) {
      if (Date.now() > deadline) {
        const behind = [...ends].filter(([partition, { high }]) => (next.get(partition) ?? 0n) < high).map(([partition, { high }]) => `partition ${partition} at ${next.get(partition)} of ${high}`);
        throw new Error(`the topic was not read to its end within ${timeoutMs / 1000} s: ${behind.join(', ')}`);
      }
      await delay(200);
    }
  } finally {
    await reader.stop();
  }
  // One copy per (partition, offset), in order: a consumer restart may hand a message over twice.
  const unique = new Map<string, TopicMessage>();
  for (const message of messages) unique.set(`${message.meta.partition}/${message.meta.offset}`, message);
  return [...unique.values()].sort((a, b) => a.meta.partition - b.meta.partition || Number(BigInt(a.meta.offset) - BigInt(b.meta.offset)));
}
