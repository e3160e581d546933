// A large cluster's publish on the real Kafka: split into produce requests under the byte
// budget, whole, in order and once each; a topic's small max.message.bytes respected; an event
// too large for it named; the configured codec on the wire, read from the broker's record
// batches by a raw Fetch (test/integration/helpers/record-batches.ts), not from a client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { createKafkaPublisher, eventHeaders, eventKey, KafkaRequestTooLargeError, recordBytes, type EventPublisher, type PublishableEvent } from '../../src/adapters/kafka-publisher.js';
import { createLogger } from '../../src/adapters/logger.js';
import { loadConfig, type Config } from '../../src/config.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { TopicReader, type ReceivedEvent } from '../helpers/topic-reader.js';
import { uniqueName } from '../helpers/unique.js';
import { readRecordBatches } from './helpers/record-batches.js';

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

const base = loadConfig({ ...process.env, FLEETVIEW_KAFKA_COMPRESSION: undefined, FLEETVIEW_KAFKA_MAX_REQUEST_BYTES: undefined });
const broker = base.kafka.brokers[0]!;
const logLines: string[] = [];
const logger = createLogger('warn', { test: 'kafka-publisher-split' }, (line) => logLines.push(line));
const kafka = new Kafka({ clientId: uniqueName('split-test'), brokers: base.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const topics: string[] = [];
const publishers: EventPublisher[] = [];

/** A configuration on a topic of its own (one partition: the order across clusters shows too). */
function configOn(prefix: string, kafkaOverrides: Partial<Config['kafka']> = {}): Config {
  const topic = uniqueName(prefix);
  topics.push(topic);
  return { ...base, kafka: { ...base.kafka, topic, topicPartitions: 1, topicRetentionMs: 3_600_000, ...kafkaOverrides } };
}

/** The publisher the worker builds from `config` (src/worker.ts spreads config.kafka the same way). */
function publisherFor(config: Config): EventPublisher {
  const publisher = createKafkaPublisher({ ...config.kafka, logger });
  publishers.push(publisher);
  return publisher;
}

/**
 * Events shaped like a large Kafka-like cluster's first refresh (SHARD_ALLOCATION_NEW with a
 * shard, its offsets and the node's datastore facts), about 0.6 KiB of JSON each, varied the way
 * real ones are so compression is not flattered.
 */
function firstRefresh(cluster: string, count: number, from = 0): PublishableEvent[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const node = i % 2000;
    return {
      id: `${cluster}/1/${i}`,
      category: 'SHARD',
      event: 'SHARD_ALLOCATION_NEW',
      cluster_id: cluster,
      node_id: String(node),
      generation: 1,
      timestamp: '2026-11-24T10:00:01.000Z',
      schema: 1,
      payload: {
        id: `orders-${(i * 7919) % 33_333}`,
        role: i % 3 === 0 ? 'primary' : 'secondary',
        commit_offset: { unit: 'offset', value: 100_000_000 + ((i * 104_729) % 9_000_000) },
        lag: { unit: 'offset', value: (i * 31) % 977 },
        address: `https://agent-${node}.dc${node % 4}.example.net:9443/clusters/${cluster}/nodes/broker-${node}`,
        datastore: {
          kind: 'kafka',
          version: '3.7.1',
          node_id: String(node),
          rack: `eu-west-1${'abc'[node % 3]}`,
          log_dir: `/var/lib/kafka/data-${node % 6}`,
          leader_epoch: (i * 13) % 211,
          in_sync: true,
          size_bytes: 1_000_000 + ((i * 65_537) % 90_000_000),
        },
      },
    } as PublishableEvent;
  });
}

/** One event whose JSON is about `bytes` long. */
function eventOfSize(cluster: string, index: number, bytes: number): PublishableEvent {
  return { ...firstRefresh(cluster, 1, index)[0]!, padding: 'x'.repeat(bytes) } as PublishableEvent;
}

const sizeOf = (event: PublishableEvent) => recordBytes({ key: eventKey(event), value: JSON.stringify(event), headers: eventHeaders(event) });
const idsOf = (events: readonly { id: string }[]) => events.map((e) => e.id);

/** Every record of the (one-partition) topic up to its end as it is now, through the project's topic reader. */
async function readTopic(config: Config, timeoutMs = 60_000): Promise<ReceivedEvent[]> {
  const [partition] = await admin.fetchTopicOffsets(config.kafka.topic);
  const last = BigInt(partition!.high) - 1n;
  const reader = await new TopicReader(config).start();
  try {
    const deadline = Date.now() + timeoutMs;
    while (last >= 0n && !reader.received.some((r) => BigInt(r.offset) >= last)) {
      if (Date.now() > deadline) throw new Error(`${config.kafka.topic}: read ${reader.received.length} records up to offset ${last} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return [...reader.received];
  } finally {
    await reader.stop();
  }
}

before(() => admin.connect(), setupBound);

after(
  () =>
    cleanUp({
      'closing the publishers': () => Promise.all(publishers.map((p) => p.close())),
      'deleting the topics': () => admin.deleteTopics({ topics, timeout: 20_000 }).catch(() => undefined),
      'disconnecting the Kafka admin': () => admin.disconnect(),
    }),
  cleanupBound,
);

it("publishes 10,000 events of a large cluster's first refresh whole, in order, once each, while small clusters' publishes go out beside it", async (t) => {
  const config = configOn('publisher-large');
  const publisher = publisherFor(config);
  await publisher.ensureTopic();
  const large = firstRefresh('kafka-big', 10_000);
  const small = [firstRefresh('mongo-0', 3), firstRefresh('zk-2', 2)];
  const rawBytes = large.reduce((sum, e) => sum + sizeOf(e), 0);
  assert.ok(rawBytes > 5 * 1024 * 1024, `the large publish is ${rawBytes} bytes: not large enough to need splitting several times`);

  const started = performance.now();
  await Promise.all([publisher.publish(large), ...small.map((events) => publisher.publish(events))]);
  const publishMs = performance.now() - started;

  const received = await readTopic(config);
  const byCluster = (cluster: string) => idsOf(received.filter((r) => r.key === cluster).map((r) => r.event));
  assert.equal(received.length, 10_005, 'every event once');
  assert.deepEqual(byCluster('kafka-big'), idsOf(large));
  assert.deepEqual(byCluster('mongo-0'), idsOf(small[0]!));
  assert.deepEqual(byCluster('zk-2'), idsOf(small[1]!));
  // The small publishes, queued behind the large one, went out in its second request, not after its last.
  const position = (id: string) => received.findIndex((r) => r.event.id === id);
  assert.ok(position('zk-2/1/1') < position(large.at(-1)!.id), 'small clusters waited for the whole large publish');

  const batches = await readRecordBatches(broker, config.kafka.topic);
  assert.ok(batches.length >= Math.ceil(rawBytes / config.kafka.maxRequestBytes), `${batches.length} batches for ${rawBytes} bytes`);
  assert.deepEqual([...new Set(batches.map((b) => b.codec))], ['gzip']);
  const wireBytes = batches.reduce((sum, b) => sum + b.bytes, 0);
  t.diagnostic(`10,005 events, ${(rawBytes / 2 ** 20).toFixed(1)} MiB of records: published in ${Math.round(publishMs)} ms, ${batches.length} gzip batches, ${(wireBytes / 2 ** 20).toFixed(2)} MiB stored`);
});

/** The topic's max.message.bytes, and whether the topic sets it (rather than inheriting the broker's). */
async function maxMessageBytes(topic: string): Promise<{ value: number; own: boolean }> {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
  const entry = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
  return { value: Number(entry?.configValue), own: entry?.isDefault === false };
}

it("creates the topic with a max.message.bytes that takes the budget when the broker's default would not", async () => {
  const byDefault = configOn('publisher-default-limit');
  await publisherFor(byDefault).ensureTopic();
  assert.deepEqual(await maxMessageBytes(byDefault.kafka.topic), { value: 1_048_588, own: false });

  const twoMiB = 2 * 1024 * 1024;
  const raised = configOn('publisher-raised-limit', { compression: 'none', maxRequestBytes: twoMiB });
  const publisher = publisherFor(raised);
  await publisher.ensureTopic();
  assert.deepEqual(await maxMessageBytes(raised.kafka.topic), { value: twoMiB + 1024 + 2048, own: true }); // 1 KiB + 0.1%
  const events = firstRefresh('kafka-raised', 4_000);
  await publisher.publish(events);
  const batches = await readRecordBatches(broker, raised.kafka.topic);
  assert.equal(batches.reduce((sum, b) => sum + b.records, 0), 4_000);
  assert.ok(Math.max(...batches.map((b) => b.bytes)) > 1_048_588, 'no batch used the raised limit');
});

describe("a topic whose max.message.bytes is 64 KiB", () => {
  const limit = 64 * 1024;
  const config = configOn('publisher-small-limit', { compression: 'none', maxRequestBytes: 48 * 1024 });

  before(
    () =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: config.kafka.topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(limit) }] }],
      }),
    setupBound,
  );

  it('refuses 600 events in one request (the limit is real: a plain producer)', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const events = firstRefresh('control', 600);
      const messages = events.map((e) => ({ key: e.cluster_id, value: JSON.stringify(e) }));
      await assert.rejects(producer.send({ topic: config.kafka.topic, compression: CompressionTypes.None, messages }), /larger than the max message size/);
    } finally {
      await producer.disconnect();
    }
  });

  it('takes them split under a budget below the limit: whole, in order, each batch under the limit', async () => {
    const publisher = publisherFor(config);
    const events = firstRefresh('kafka-split', 600);
    await publisher.publish(events);
    const received = await readTopic(config);
    assert.deepEqual(idsOf(received.filter((r) => r.key === 'kafka-split').map((r) => r.event)), idsOf(events));
    const batches = await readRecordBatches(broker, config.kafka.topic);
    assert.ok(batches.length >= Math.ceil(events.reduce((sum, e) => sum + sizeOf(e), 0) / (48 * 1024)), `${batches.length} batches`);
    for (const batch of batches) assert.ok(batch.bytes <= limit, `a batch of ${batch.bytes} bytes`);
  });

  it("cuts a budget over the topic's limit (the default 900 KiB) to fit it, and says so", async () => {
    const publisher = publisherFor({ ...config, kafka: { ...config.kafka, maxRequestBytes: base.kafka.maxRequestBytes } });
    const events = firstRefresh('kafka-default-budget', 300);
    await publisher.publish(events);
    const received = await readTopic(config);
    assert.deepEqual(idsOf(received.filter((r) => r.key === 'kafka-default-budget').map((r) => r.event)), idsOf(events));
    const warning = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => String(entry.msg).includes("over the events topic's max.message.bytes"));
    assert.ok(warning, `no warning in ${logLines.join('')}`);
    assert.equal(warning.maxMessageBytes, limit);
    assert.equal(warning.topic, config.kafka.topic);
  });

  it('sends an event over the budget alone, and fails on one over the limit naming it, sending nothing after it', async () => {
    const publisher = publisherFor(config);
    const cluster = 'kafka-huge-event';
    const alone = eventOfSize(cluster, 5, 56 * 1024);
    const huge = eventOfSize(cluster, 9, 100 * 1024);
    const events = [...firstRefresh(cluster, 5), alone, ...firstRefresh(cluster, 3, 6), huge, ...firstRefresh(cluster, 3, 10)];
    const hugeBytes = sizeOf(huge);
    await assert.rejects(publisher.publish(events), (err: unknown) => {
      assert.ok(err instanceof KafkaRequestTooLargeError, String(err));
      assert.equal(err.message.split(':')[0], `Kafka refused event ${huge.id} as too large`);
      assert.match(err.message, new RegExp(`${hugeBytes} bytes, over the topic ${config.kafka.topic}'s max.message.bytes`));
      assert.deepEqual(err.largestEvent, { id: huge.id, bytes: hugeBytes });
      return true;
    });
    const received = await readTopic(config);
    assert.deepEqual(idsOf(received.filter((r) => r.key === cluster).map((r) => r.event)), idsOf(events.slice(0, events.indexOf(huge))));
  });
});

it('puts the configured codec on the wire: gzip by default, none with FLEETVIEW_KAFKA_COMPRESSION=none', async (t) => {
  const stored: Record<string, number> = {};
  for (const [codec, env] of [['gzip', {}], ['none', { FLEETVIEW_KAFKA_COMPRESSION: 'none' }]] as const) {
    const topic = uniqueName(`publisher-${codec}`);
    topics.push(topic);
    const config = loadConfig({ ...process.env, FLEETVIEW_KAFKA_COMPRESSION: undefined, ...env, FLEETVIEW_EVENTS_TOPIC: topic, FLEETVIEW_EVENTS_PARTITIONS: '1' });
    await publisherFor(config).publish(firstRefresh('kafka-codec', 2_000));
    const batches = await readRecordBatches(broker, topic);
    assert.equal(batches.reduce((sum, b) => sum + b.records, 0), 2_000);
    assert.deepEqual([...new Set(batches.map((b) => b.codec))], [codec], `${codec}: batches ${JSON.stringify(batches.map((b) => b.codec))}`);
    stored[codec] = batches.reduce((sum, b) => sum + b.bytes, 0);
  }
  assert.ok(stored.gzip! * 4 < stored.none!, `gzip ${stored.gzip} bytes, none ${stored.none}`);
  t.diagnostic(`2,000 events on the wire: gzip ${stored.gzip} bytes, none ${stored.none} bytes`);
});
