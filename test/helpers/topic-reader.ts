/**
 * The events topic as a test reads it: from the beginning, into memory, through fleetview's own
 * topic reader; each event with its key, partition, offset and headers.
 */
import { openClients } from '../../src/adapters/clients.js';
import { startTopicReader, type TopicReader as Reader } from '../../src/adapters/topic-reader.js';
import type { Config } from '../../src/config.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { uniqueName } from './unique.js';

export interface ReceivedEvent {
  event: FleetEvent;
  key: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

export class TopicReader {
  readonly received: ReceivedEvent[] = [];
  private reader: Reader | undefined;
  /** The offset of the last message read in each partition, an event or not. */
  private readonly lastOffsets = new Map<number, bigint>();

  constructor(private readonly config: Config) {}

  /** `waitForTopicMs`: how long the topic may take to appear (a worker starting beside the test creates it). */
  async start({ waitForTopicMs = 0 }: { waitForTopicMs?: number } = {}): Promise<this> {
    this.reader = await startTopicReader({
      kafka: openClients(this.config).kafka(),
      topic: this.config.kafka.topic,
      groupId: uniqueName('reader'),
      from: 'beginning',
      maxWaitTimeInMs: 200,
      waitForTopicMs,
      onMessage: ({ event, key, partition, offset, headers }) => {
        this.lastOffsets.set(partition, offset);
        if (event !== null) this.received.push({ event, key, partition, offset: offset.toString(), headers });
      },
    });
    return this;
  }

  /** The events in arrival order with duplicates (same id) dropped, as consumers are told to. */
  unique(): FleetEvent[] {
    const seen = new Set<string>();
    return this.received.map((r) => r.event).filter((e) => !seen.has(e.id) && seen.add(e.id));
  }

  async waitFor(predicate: (events: FleetEvent[]) => boolean, timeoutMs = 30_000): Promise<FleetEvent[]> {
    await pollUntil(() => predicate(this.unique()), timeoutMs, () => `events did not arrive within ${timeoutMs} ms; got ${this.unique().length}`);
    return this.unique();
  }

  /** Reads up to the end the topic has now: every message published before the call. */
  async waitForTopicEnd(timeoutMs = 30_000): Promise<FleetEvent[]> {
    const admin = openClients(this.config).kafka().admin();
    await admin.connect();
    let ends: Array<{ partition: number; high: string; low: string }>;
    try {
      ends = await admin.fetchTopicOffsets(this.config.kafka.topic);
    } finally {
      await admin.disconnect();
    }
    const behind = () => ends.filter(({ partition, high, low }) => BigInt(high) > BigInt(low) && (this.lastOffsets.get(partition) ?? -1n) < BigInt(high) - 1n);
    await pollUntil(
      () => behind().length === 0,
      timeoutMs,
      () => {
        const where = behind().map(({ partition, high }) => `partition ${partition}: read to ${this.lastOffsets.get(partition) ?? 'nothing'}, its end ${BigInt(high) - 1n}`);
        return `the topic was not read to its end within ${timeoutMs} ms (${where.join('; ')})`;
      },
    );
    return this.unique();
  }

  /** Disconnects within a bound; no restart of the consumer after it. */
  async stop(): Promise<void> {
    await this.reader?.stop();
    this.reader = undefined;
  }
}

/** Checks every 100 ms until `done`; past `timeoutMs`, fails with what `failure` says then. */
async function pollUntil(done: () => boolean, timeoutMs: number, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
