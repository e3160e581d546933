/**
 * Reads a run's events topic from the beginning and keeps, per message, only what the
 * benchmark measures: the event code, cluster, node address and when this reader received it.
 * Not the Kafka timestamp: fleetview sets it to the event's own time (when its refresh started),
 * which leaves out the refresh's duration and the publish.
 */
import { Kafka, logLevel } from 'kafkajs';
import { startTopicConsumer, type TopicConsumer } from '../../src/adapters/topic-consumer.js';
import '../../src/adapters/kafkajs-idle-loop.js';

export interface SeenEvent {
  event: string;
  clusterId: string;
  /** The node's agent address, for node-scoped events. */
  address: string | null;
  /** When this reader received it. */
  timestampMs: number;
}

/** Where a message was read: for readers that keep more than SeenEvent (the chaos run's oracle). */
export interface MessageMeta {
  partition: number;
  offset: string;
  key: string;
  /** The record's Kafka timestamp (the event's time). */
  timestampMs: number;
}

export class TopicReader {
  readonly events: SeenEvent[] = [];
  private consumer: TopicConsumer | undefined;

  /** `onMessage` also gets every parsed value with where it was read. */
  constructor(
    private readonly brokers: string[],
    private readonly topic: string,
    private readonly groupId: string,
    private readonly onMessage?: (value: unknown, meta: MessageMeta) => void,
  ) {}

  async start(): Promise<void> {
    const kafka = new Kafka({ clientId: this.groupId, brokers: this.brokers, logLevel: logLevel.NOTHING });
    this.consumer = await startTopicConsumer({
      kafka,
      topic: this.topic,
      groupId: this.groupId,
      maxWaitTimeInMs: 200,
      eachMessage: ({ message, partition }) => {
        const value = JSON.parse(message.value?.toString() ?? 'null') as { event?: string; cluster_id?: string; payload?: { address?: unknown } } | null;
        this.onMessage?.(value, { partition, offset: message.offset, key: message.key?.toString() ?? '', timestampMs: Number(message.timestamp) });
        this.events.push({
          event: value?.event ?? 'unknown',
          clusterId: value?.cluster_id ?? message.key?.toString() ?? '',
          address: typeof value?.payload?.address === 'string' ? value.payload.address : null,
          timestampMs: Date.now(),
        });
      },
    });
  }

  /** First time (received) each address got `event`, from `sinceMs` on. */
  firstByAddress(event: string, sinceMs = 0): Map<string, number> {
    const first = new Map<string, number>();
    for (const e of this.events) {
      if (e.event !== event || e.address === null || e.timestampMs < sinceMs) continue;
      const known = first.get(e.address);
      if (known === undefined || e.timestampMs < known) first.set(e.address, e.timestampMs);
    }
    return first;
  }

  countBetween(fromMs: number, toMs: number): number {
    return this.events.filter((e) => e.timestampMs >= fromMs && e.timestampMs < toMs).length;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }
}
