// The publisher against the real Kafka: topic creation with the configured partitions and
// retention, per-cluster keys, CloudEvents headers, order.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import kafkajs from 'kafkajs';
import { createKafkaPublisher, type PublishableEvent } from '../../src/adapters/kafka-publisher.js';
import { createLogger } from '../../src/adapters/logger.js';
import { loadConfig } from '../../src/config.js';
import { cleanUp, cleanupBound } from '../helpers/bounded.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { uniqueName } from '../helpers/unique.js';

const base = loadConfig();
const topic = uniqueName('publisher');
const config = { ...base, kafka: { ...base.kafka, topic, topicPartitions: 2, topicRetentionMs: 3_600_000 } };
const publisher = createKafkaPublisher({ ...config.kafka, logger: createLogger('error') });
// kafkajs is CommonJS: ConfigResourceTypes is reachable only through its default export.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
const admin = new Kafka({ clientId: uniqueName('admin'), brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();

after(
  () =>
    cleanUp({
      'closing the publisher': () => publisher.close(),
      'deleting the topic': () => admin.deleteTopics({ topics: [topic] }).catch(() => undefined),
      'disconnecting the Kafka admin': () => admin.disconnect(),
    }),
  cleanupBound,
);

const event = (cluster: string, generation: number, index: number): PublishableEvent => ({
  id: `${cluster}/${generation}/${index}`,
  category: 'AGENT',
  event: 'AGENT_NEW',
  cluster_id: cluster,
  timestamp: `2026-11-24T10:00:0${generation}.000Z`,
});

it('creates the topic once, with the configured partitions and retention', async () => {
  await publisher.ensureTopic();
  await publisher.ensureTopic();
  await admin.connect();
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(metadata.topics[0]?.partitions.length, 2);
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
  });
  assert.equal(described.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
});

it('keys by cluster, keeps each cluster in order, and carries CloudEvents headers', async () => {
  const a = [event('rs0', 1, 0), event('rs0', 1, 1), event('rs0', 2, 0)];
  const b = [event('kafka-1', 1, 0), event('kafka-1', 1, 1)];
  await publisher.publish(a);
  await publisher.publish(b);
  await publisher.publish([]);
  const reader = await new TopicReader(config).start();
  try {
    await reader.waitFor((events) => events.length >= 5);
    const byCluster = (cluster: string) => reader.received.filter((r) => r.key === cluster);
    assert.deepEqual(byCluster('rs0').map((r) => r.event.id), ['rs0/1/0', 'rs0/1/1', 'rs0/2/0']);
    assert.deepEqual(byCluster('kafka-1').map((r) => r.event.id), ['kafka-1/1/0', 'kafka-1/1/1']);
    assert.equal(new Set(byCluster('rs0').map((r) => r.partition)).size, 1, 'one cluster, one partition');
    assert.deepEqual(byCluster('rs0')[0]?.headers, {
      'event-id': 'rs0/1/0',
      ce_specversion: '1.0',
      ce_id: 'rs0/1/0',
      ce_type: 'io.fleetview.AGENT_NEW',
      ce_source: 'fleetview/clusters/rs0',
      ce_time: '2026-11-24T10:00:01.000Z',
      'content-type': 'application/json',
    });
  } finally {
    await reader.stop();
  }
});
