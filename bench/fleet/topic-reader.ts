/**
 * Reads a run's events topic from the beginning and keeps, per message, only what the
 * benchmark measures: the event code, cluster, node address and when this reader received it.
 * Not the Kafka timestamp: fleetview sets it to the event's own time (when its refresh started),
 * which leaves out the refresh's duration and the publish.
 */
import type { KafkaClient } from '../../src/adapters/clients.js';
import { startTopicReader, type TopicReader as Reader } from '../../src/adapters/topic-reader.js';

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
  private reader: Reader | undefined;

  /** `onMessage` also gets every parsed value with where it was read. */
  constructor(
    private readonly kafka: KafkaClient,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly onMessage?: (value: unknown, meta: MessageMeta) => void,
  ) {}

  async start(): Promise<void> {
    this.reader = await startTopicReader({
      kafka: this.kafka,
      topic: this.topic,
      groupId: this.groupId,
      from: 'beginning',
      maxWaitTimeInMs: 200,
      onMessage: ({ value, event, key, partition, offset, timestampMs }) => {
        this.onMessage?.(value, { partition, offset: offset.toString(), key, timestampMs });
        const payload = event?.payload as { address?: unknown } | undefined;
        this.events.push({
          event: event?.event ?? 'unknown',
          clusterId: event?.cluster_id ?? key,
          address: typeof payload?.address === 'string' ? payload.address : null,
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
    await this.reader?.stop();
    this.reader = undefined;
  }
}
