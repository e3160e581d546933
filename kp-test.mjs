import { Kafka, CompressionTypes, logLevel } from 'kafkajs';
const brokers = process.argv[2].split(',');
const kafka = new Kafka({ clientId: 'kp', brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin(); await admin.connect();
const topic = 'kp-test-' + Date.now();
await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: brokers.length > 1 ? 3 : 1 }], waitForLeaders: true });
const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
await p.connect();
const lat = [];
for (let i = 0; i < 200; i++) {
  const msgs = Array.from({ length: 20 }, (_, j) => ({ key: 'c' + (i * 20 + j), value: 'x'.repeat(400) }));
  const t = performance.now();
  await p.send({ topic, acks: -1, messages: msgs });
  lat.push(performance.now() - t);
}
lat.sort((a, b) => a - b);
console.log(brokers.length, 'brokers: p50', lat[100].toFixed(1), 'p90', lat[180].toFixed(1), 'max', lat[199].toFixed(1));
await p.disconnect(); await admin.deleteTopics({ topics: [topic] }); await admin.disconnect();
