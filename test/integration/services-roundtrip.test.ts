// Each real service proven by a round trip through the library the project uses.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { startTopicConsumer } from '../../src/adapters/topic-consumer.js';
import { loadConfig } from '../../src/config.js';
import { createEchoActivities } from '../fixtures/echo-activities.js';
import type { echoWorkflow } from '../fixtures/echo-workflow.js';
import { cleanUp, cleanupBound } from '../helpers/bounded.js';
import { waitUntil } from '../helpers/polling.js';
import { uniqueName } from '../helpers/unique.js';

const config = loadConfig();

describe('Temporal dev server', () => {
  it('runs a workflow and its activity on a real Worker', async () => {
    const taskQueue = uniqueName('roundtrip');
    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('../fixtures/echo-workflow.ts', import.meta.url)),
        activities: createEchoActivities('worker-1'),
      });
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const workflowId = uniqueName('echo');
      const result = await worker.runUntil(
        client.workflow.execute<typeof echoWorkflow>('echoWorkflow', { taskQueue, workflowId, args: ['hello'], workflowExecutionTimeout: '1 minute' }),
      );
      assert.deepEqual(result, { reply: 'worker-1 echoes hello', workflowId, idCheck: null });
      const description = await client.workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'COMPLETED');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});

describe('Kafka', () => {
  const kafka = new Kafka({ clientId: uniqueName('test'), brokers: config.kafka.brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  const topic = uniqueName('roundtrip');

  after(
    () =>
      cleanUp({
        'deleting the topic': () => admin.deleteTopics({ topics: [topic] }).catch(() => undefined),
        'disconnecting the Kafka admin': () => admin.disconnect(),
      }),
    cleanupBound,
  );

  it('delivers a produced message to a consumer through kafkajs', async () => {
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }), true);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'rs0', value: JSON.stringify({ hello: 'kafka' }), headers: { 'event-id': 'rs0/1/0' } }] });
    await producer.disconnect();

    let received: { key: string; value: unknown; eventId: string } | undefined;
    const reader = await startTopicConsumer({
      kafka,
      topic,
      groupId: uniqueName('group'),
      eachMessage: ({ message }) => {
        received ??= {
          key: message.key?.toString() ?? '',
          value: JSON.parse(message.value?.toString() ?? 'null') as unknown,
          eventId: message.headers?.['event-id']?.toString() ?? '',
        };
      },
    });
    try {
      await waitUntil(() => received !== undefined, 30_000, 'no message');
      assert.deepEqual(received, { key: 'rs0', value: { hello: 'kafka' }, eventId: 'rs0/1/0' });
    } finally {
      await reader.stop();
    }
  });
});

describe('MongoDB-compatible server', () => {
  it('writes and reads a document through the mongodb driver', async () => {
    const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 5000 });
    const db = client.db(uniqueName('roundtrip').replace(/-/g, '_'));
    try {
      await client.connect();
      const nodes = db.collection<{ _id: string; generation: number; status: string }>('nodes');
      await nodes.createIndex({ generation: 1 });
      await nodes.updateOne({ _id: 'rs0/n1' }, { $set: { generation: 1, status: 'UP' } }, { upsert: true });
      // A write guarded by generation: the older one must not land.
      await nodes.updateOne({ _id: 'rs0/n1', generation: { $lt: 0 } }, { $set: { generation: 0, status: 'STALE' } });
      assert.deepEqual(await nodes.findOne({ _id: 'rs0/n1' }), { _id: 'rs0/n1', generation: 1, status: 'UP' });
    } finally {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    }
  });
});
