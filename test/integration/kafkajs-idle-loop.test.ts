// kafkajs 2.2.4 spins a 1 ms timer on every broker connection once a request has been answered
// (src/adapters/kafkajs-idle-loop.ts). Against the real Kafka: an idle producer's queues are
// not checked at all after the fix; and the replacement still arms the timer whenever requests
// wait, at the throttle's end or after kafkajs' 10 ms.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { kafkajsIdleLoopFixed } from '../../src/adapters/kafkajs-idle-loop.js';
import { loadConfig } from '../../src/config.js';
import { cleanUp, cleanupBound } from '../helpers/bounded.js';
import { uniqueName } from '../helpers/unique.js';

const { Kafka, logLevel } = kafkajs;
const require = createRequire(import.meta.url);

interface QueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests: (this: QueueLike) => void;
  scheduleCheckPendingRequests: (this: QueueLike) => void;
}
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: QueueLike };

const config = loadConfig(process.env);
const kafka = new Kafka({ clientId: uniqueName('idle-loop'), brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ allowAutoTopicCreation: false });
const topic = uniqueName('idle-loop');

after(async () => {
  await cleanUp({
    'disconnecting the producer': () => producer.disconnect(),
    'deleting the topic': () => admin.deleteTopics({ topics: [topic], timeout: 10_000 }),
    'disconnecting the admin': () => admin.disconnect(),
  });
}, cleanupBound);

describe('kafkajs idle timer loop', () => {
  it('is fixed in the kafkajs release we run (another release: read the module comment again)', () => {
    assert.equal(kafkajsIdleLoopFixed, true);
  });

  it('an idle producer checks no queue after its last answer', { timeout: 60_000 }, async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true, timeout: 20_000 });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'one' }] });

    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: QueueLike) {
      checks += 1;
      original.call(this);
    };
    try {
      // Unfixed, each connection checks its empty queue about every millisecond: hundreds here.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const idleChecks = checks;
      await producer.send({ topic, messages: [{ value: 'two' }] });
      assert.ok(idleChecks <= 2, `an idle producer checked its queues ${idleChecks} times in 500 ms`);
      assert.ok(checks > idleChecks, 'an answered request still checks its queue');
    } finally {
      RequestQueue.prototype.checkPendingRequests = original;
    }
  });

  it('requests that wait are still checked: at the end of a throttle, or after 10 ms', () => {
    const schedule = RequestQueue.prototype.scheduleCheckPendingRequests;
    const queue = (pending: number, throttledUntil: number): QueueLike => ({
      pending: Array.from({ length: pending }, () => ({})),
      throttledUntil,
      throttleCheckTimeoutId: null,
      checkPendingRequests() {},
      scheduleCheckPendingRequests: schedule,
    });
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      delays.push(ms);
      return realSetTimeout(() => undefined, 0);
    }) as typeof setTimeout;
    try {
      queue(0, -1).scheduleCheckPendingRequests();
      assert.deepEqual(delays, [], 'nothing pending: no timer');
      queue(2, -1).scheduleCheckPendingRequests();
      assert.deepEqual(delays, [10], 'pending, not throttled: kafkajs\' 10 ms');
      queue(1, Date.now() + 5_000).scheduleCheckPendingRequests();
      assert.ok(delays[1]! > 4_000 && delays[1]! <= 5_000, `pending and throttled: at the throttle's end, got ${delays[1]} ms`);
      const armed = queue(1, -1);
      armed.throttleCheckTimeoutId = realSetTimeout(() => undefined, 0);
      armed.scheduleCheckPendingRequests();
      assert.equal(delays.length, 2, 'a timer already armed: no second one');
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });
});
