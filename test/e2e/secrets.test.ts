// Secrets stay secret through a full run. Every secret setting is planted with a marked value,
// from a _FILE as container platforms mount them: the Temporal API key (over mTLS through a TLS
// proxy), the Kafka SASL password (SCRAM-SHA-512 on a SASL_SSL broker of the test's own), the
// agents' bearer token, and an http discovery's Authorization header. A worker process (debug
// logs) and the CLI run everything an operator does: start, discovery apply/run/list, refresh,
// view, clusters, events. Then the marker is searched for in the worker's logs and metrics, every
// CLI output, every workflow history (`temporal workflow show`) and the schedule, every message
// of the events topic (keys, values, headers), and the state in MongoDB: it must be nowhere, except
// in discovery_settings, where the discovery's own configuration is kept (the positive control
// that the search finds what is there).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { kafkaSecurity } from '../../src/adapters/connections/index.js';
import { startTopicConsumer } from '../../src/adapters/topic-consumer.js';
import { loadConfig } from '../../src/config.js';
import { removeDiscoverySchedule } from '../../src/operations/index.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { runCliProcess, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/polling.js';
import { servicesEnv } from '../helpers/services-env.js';
import { connectClient } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { freePort } from '../helpers/isolated-service.js';
import { startSecureKafka, type SecureKafka } from '../helpers/secure-kafka.js';
import { TestPki, startTlsProxy, type TlsProxy } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';
import { workerLauncher } from '../../src/worker-node-flags.js';

const marker = `planted${randomBytes(6).toString('hex')}`;
const secrets = {
  apiKey: `${marker}-temporal-api-key`,
  kafkaPassword: `${marker}-kafka-password`,
  agentToken: `${marker}-agent-token`,
  discoveryToken: `${marker}-discovery-token`,
};

const pki = new TestPki();
const shared = loadConfig(process.env);
let kafka: SecureKafka;
let proxy: TlsProxy;
let sim: SimHandle;
let worker: ChildProcess | undefined;
let workerLog = '';
let env: Record<string, string>;
let metricsPort: number;
const outputs: Array<{ what: string; text: string }> = [];

before(async () => {
  kafka = await startSecureKafka(pki, {
    plain: { username: 'unused', password: 'unused' },
    scram256: { username: 'unused-256', password: 'unused' },
    scram512: { username: 'fleetview', password: secrets.kafkaPassword },
  });
  const ca = pki.ca('temporal-ca');
  const client = pki.issue(ca, 'temporal-client', 'client');
  proxy = await startTlsProxy({ target: shared.temporal.address, server: pki.issue(ca, 'temporal-server', 'server', ['127.0.0.1']), clientCa: ca.cert, alpn: ['h2'] });
  sim = await startSim({ clusters: 1, nodes: 2, idPrefix: `${uniqueName('secrets')}-` });
  metricsPort = await freePort();
  const names = testConfig();
  env = {
    FLEETVIEW_TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`,
    FLEETVIEW_TEMPORAL_TLS_CA_FILE: ca.cert,
    FLEETVIEW_TEMPORAL_TLS_CERT_FILE: client.cert,
    FLEETVIEW_TEMPORAL_TLS_KEY_FILE: client.key,
    FLEETVIEW_TEMPORAL_API_KEY_FILE: pki.file('api-key', `${secrets.apiKey}\n`),
    FLEETVIEW_TASK_QUEUE: names.temporal.taskQueue,
    FLEETVIEW_KAFKA_BROKERS: kafka.saslSsl,
    FLEETVIEW_KAFKA_TLS_CA_FILE: kafka.ca.cert,
    FLEETVIEW_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    FLEETVIEW_KAFKA_SASL_USERNAME: 'fleetview',
    FLEETVIEW_KAFKA_SASL_PASSWORD_FILE: pki.file('kafka-password', `${secrets.kafkaPassword}\n`),
    FLEETVIEW_EVENTS_TOPIC: names.kafka.topic,
    FLEETVIEW_EVENTS_PARTITIONS: '1',
    FLEETVIEW_MONGODB_URI: shared.mongodb.uri,
    FLEETVIEW_MONGODB_DATABASE: names.mongodb.database,
    FLEETVIEW_AGENT_HEADERS_FILE: pki.file('agent-headers.json', JSON.stringify({ Authorization: `Bearer ${secrets.agentToken}` })),
    FLEETVIEW_AGENT_TIMEOUT_MS: '1000',
    FLEETVIEW_REFRESH_INTERVAL_S: '3600',
    FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('secrets-schedule'),
    FLEETVIEW_DISCOVERY_TICK_S: '3600',
    FLEETVIEW_METRICS_PORT: String(metricsPort),
    FLEETVIEW_LOG_LEVEL: 'debug',
  };
}, setupBound);

after(() => {
  let temporal: Awaited<ReturnType<typeof connectClient>> | undefined;
  return cleanUp({
    'stopping the worker process': async () => {
      if (worker && worker.exitCode === null) {
        const gone = new Promise((resolve) => worker!.once('exit', resolve));
        worker.kill('SIGTERM');
        // A graceful stop takes seconds; one that does not come is cut short.
        const hard = setTimeout(() => worker?.kill('SIGKILL'), 20_000);
        await gone;
        clearTimeout(hard);
      }
    },
    'connecting to Temporal through the TLS proxy': async () => {
      if (env) temporal = await connectClient(loadConfig(env)).catch(() => undefined);
    },
    'removing the discovery schedule': () => temporal && removeDiscoverySchedule(temporal.client, env.FLEETVIEW_DISCOVERY_SCHEDULE_ID!, 'the test finished').catch(() => undefined),
    'terminating the running workflows': async () => {
      if (!temporal) return;
      for await (const run of temporal.client.workflow.list({ query: `TaskQueue = '${env.FLEETVIEW_TASK_QUEUE}' AND ExecutionStatus = 'Running'` })) {
        await temporal.client.workflow.getHandle(run.workflowId, run.runId).terminate('the test finished').catch(() => undefined);
      }
    },
    'closing the Temporal client': () => temporal?.close(),
    'stopping the sim': () => sim?.close(),
    'stopping the TLS proxy': () => proxy?.close(),
    'stopping the secure Kafka': () => kafka?.stop(),
    'deleting the certificates and secret files': () => pki.dispose(),
  });
}, cleanupBound);

async function cli(args: string[], expectCode = 0): Promise<CliResult> {
  const result = await runCliProcess(args, env);
  outputs.push({ what: `fleetview ${args.join(' ')}`, text: result.stdout + result.stderr });
  assert.equal(result.code, expectCode, `fleetview ${args.join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`);
  return result;
}

function startWorker(): Promise<void> {
  worker = spawn('sh', [workerLauncher], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => (workerLog += chunk.toString());
  worker.stdout?.on('data', collect);
  worker.stderr?.on('data', collect);
  return eventually('the worker started', () => {
    if (worker!.exitCode !== null) throw new Error(`the worker exited ${worker!.exitCode}: ${workerLog.slice(-3000)}`);
    return workerLog.includes('"msg":"worker started"') || undefined;
  }, 90_000).then(() => undefined);
}

/** Every place a secret could leak to, with what it holds, for the search. */
async function collectEverything(): Promise<Array<{ where: string; text: string }>> {
  const places: Array<{ where: string; text: string }> = [];
  places.push({ where: 'worker logs', text: workerLog });
  places.push({ where: 'worker metrics', text: await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text() });
  for (const output of outputs) places.push({ where: output.what, text: output.text });

  // Histories, through the Temporal CLI against the server itself.
  const temporalCli = servicesEnv().FLEETVIEW_TEMPORAL_CLI!;
  const temporal = await connectClient(loadConfig(env));
  try {
    for await (const run of temporal.client.workflow.list({ query: `TaskQueue = '${env.FLEETVIEW_TASK_QUEUE}'` })) {
      const show = spawnSync(temporalCli, ['workflow', 'show', '--address', shared.temporal.address, '--workflow-id', run.workflowId, '--run-id', run.runId, '-o', 'json'], { encoding: 'utf8' });
      assert.equal(show.status, 0, show.stderr);
      places.push({ where: `history of ${run.workflowId}`, text: show.stdout });
    }
    const schedule = spawnSync(temporalCli, ['schedule', 'describe', '--address', shared.temporal.address, '--schedule-id', env.FLEETVIEW_DISCOVERY_SCHEDULE_ID!, '-o', 'json'], { encoding: 'utf8' });
    assert.equal(schedule.status, 0, schedule.stderr);
    places.push({ where: 'the discovery schedule', text: schedule.stdout });
  } finally {
    await temporal.close();
  }

  // Every message of the topic, raw.
  const config = loadConfig(env);
  const messages: string[] = [];
  const admin = new Kafka({ ...kafkaSecurity(config.kafka), clientId: uniqueName('secrets-admin'), brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(config.kafka.topic)).reduce((sum, p) => sum + Number(p.high), 0);
  await admin.disconnect();
  const reader = await startTopicConsumer({
    kafka: new Kafka({ ...kafkaSecurity(config.kafka), clientId: uniqueName('secrets-reader'), brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }),
    topic: config.kafka.topic,
    groupId: uniqueName('secrets-reader'),
    maxWaitTimeInMs: 200,
    eachMessage: ({ message }) => {
      const headers = Object.entries(message.headers ?? {}).map(([name, value]) => `${name}=${String(value)}`);
      messages.push([message.key?.toString(), message.value?.toString(), ...headers].join(' '));
    },
  });
  try {
    await eventually('every message of the topic read', () => messages.length >= total || undefined, 30_000);
  } finally {
    await reader.stop();
  }
  places.push({ where: 'the events topic', text: messages.join('\n') });

  // The state in MongoDB, collection by collection.
  const mongo = new MongoClient(config.mongodb.uri);
  try {
    const db = mongo.db(config.mongodb.database);
    for (const { name } of await db.listCollections().toArray()) {
      places.push({ where: `MongoDB ${name}`, text: JSON.stringify(await db.collection(name).find({}).toArray()) });
    }
  } finally {
    await mongo.close();
  }
  return places;
}

it('a full run leaves no planted secret in logs, metrics, CLI output, histories, events or state', async () => {
  const clusterId = sim.records()[0]!.cluster_id;
  const discoveryName = uniqueName('secret-inventory');
  const settingsFile = join(pki.dir, 'discoveries.yaml');
  writeFileSync(
    settingsFile,
    `name: ${discoveryName}\nbackend: http\ninterval: 3600\noptions:\n  url: ${sim.url}/discovery\n  headers: {Authorization: "Bearer ${secrets.discoveryToken}"}\n`,
  );

  await cli(['start']);
  await startWorker();
  await cli(['discovery', 'apply', '-f', settingsFile]);
  const run = await cli(['discovery', 'run', discoveryName]);
  assert.match(run.stdout, new RegExp(`${discoveryName}\\s+ok\\s+1\\s`), run.stdout);
  await fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/n2/state`, { method: 'POST', body: JSON.stringify({ agent: 'down' }) });
  const refresh = await cli(['refresh', clusterId, '--wait', '--json']);
  assert.equal((JSON.parse(refresh.stdout) as { nodes_down: number }).nodes_down, 1);
  await cli(['view', clusterId, '--json']);
  await cli(['clusters']);
  const events = await cli(['events', '--cluster', clusterId, '--from-beginning', '--json']);
  assert.match(events.stdout, /"AGENT_DOWN"/);
  await cli(['discovery', 'list']);
  const listed = await cli(['discovery', 'list', '--json']);
  assert.match(listed.stdout, /"Authorization": "\[redacted\]"/);
  // A bad secret on the command's way in: named, never shown.
  const bad = await runCliProcess(['clusters'], { ...env, FLEETVIEW_AGENT_HEADERS_FILE: pki.file('bad-headers', `not json ${marker}`) });
  outputs.push({ what: 'fleetview clusters with unparsable agent headers', text: bad.stdout + bad.stderr });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /FLEETVIEW_AGENT_HEADERS_FILE=.*bad-headers: expected a JSON object/);

  const places = await collectEverything();
  assert.ok(places.some((p) => p.where.startsWith('history of cluster/') && p.text.includes('"eventType"')), 'histories were read');
  assert.ok(places.some((p) => p.where === 'the events topic' && p.text.includes('AGENT_DOWN')), 'the topic was read');
  assert.ok(workerLog.split('\n').length > 20, 'the worker logged');
  const leaks = places.filter((p) => p.where !== 'MongoDB discovery_settings' && p.text.includes(marker));
  assert.deepEqual(
    leaks.map((p) => `${p.where}: ...${p.text.slice(Math.max(0, p.text.indexOf(marker) - 200), p.text.indexOf(marker) + 60)}...`),
    [],
    'a planted secret leaked',
  );
  // The positive control: the search finds the discovery's token where it is meant to be kept.
  assert.ok(places.find((p) => p.where === 'MongoDB discovery_settings')?.text.includes(secrets.discoveryToken), 'the settings keep the token');
});
