// Kafka with TLS and SASL, for real, on a broker of the test's own (the shared one stays plain):
// the worker publishes a refresh's events through a SASL_SSL listener with SCRAM-SHA-512 (the
// password from a _FILE), the CLI reads them back through it; PLAIN and SCRAM-SHA-256 connect
// too, and so does a client certificate on an mTLS listener. A wrong password, another CA or a
// missing client certificate fail at start, naming Kafka, the address and the cause (CLI exit 4).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ServiceConnectError, kafkaSecurity } from '../../src/adapters/connections/index.js';
import { createLogger } from '../../src/adapters/logger.js';
import type { Config } from '../../src/config.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { createFleetviewWorker } from '../../src/worker.js';
import { refreshNowUpdate } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { runCliProcess } from '../helpers/cli.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { startSecureKafka, type SecureKafka } from '../helpers/secure-kafka.js';
import { TestPki } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';

const pki = new TestPki();
let kafka: SecureKafka;
let scram512: Record<string, string>;

before(async () => {
  kafka = await startSecureKafka(pki, {
    plain: { username: 'fleetview-plain', password: uniqueName('plain-pw') },
    scram256: { username: 'fleetview-256', password: uniqueName('scram256-pw') },
    scram512: { username: 'fleetview-512', password: uniqueName('scram512-pw') },
  });
  scram512 = {
    FLEETVIEW_KAFKA_BROKERS: kafka.saslSsl,
    FLEETVIEW_KAFKA_TLS_CA_FILE: kafka.ca.cert,
    FLEETVIEW_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    FLEETVIEW_KAFKA_SASL_USERNAME: kafka.users.scram512.username,
    FLEETVIEW_KAFKA_SASL_PASSWORD_FILE: pki.file('kafka-password', `${kafka.users.scram512.password}\n`),
  };
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the secure Kafka': () => kafka?.stop(),
      'deleting the certificates': () => pki.dispose(),
    }),
  cleanupBound,
);

/** A CLI process's environment: `config` as variables, the Kafka ones replaced by `kafkaEnv`. */
function cliEnv(config: Config, kafkaEnv: Record<string, string>): Record<string, string> {
  const env = configEnv(config);
  for (const name of Object.keys(env)) if (name.startsWith('FLEETVIEW_KAFKA_')) delete env[name];
  return { ...env, ...kafkaEnv };
}

async function listTopicsWith(env: Record<string, string>): Promise<string[]> {
  const config = testConfig(env);
  const admin = new Kafka({ ...kafkaSecurity(config.kafka), clientId: uniqueName('admin'), brokers: config.kafka.brokers, retry: { retries: 1 }, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe('Kafka over SASL_SSL', () => {
  let fixture: RefresherFixture | undefined;
  let config: Config;

  before(async () => {
    config = testConfig(scram512);
    fixture = await startRefresherFixture(config, { nodes: 2, idPrefix: `${uniqueName('sasl')}-` });
  }, setupBound);

  after(
    () =>
      cleanUp({
        'closing the refresher fixture': () => fixture?.close(),
      }),
    cleanupBound,
  );

  it('the worker publishes a refresh\'s events (SCRAM-SHA-512, password from a file) and the CLI reads them', async () => {
    const clusterId = fixture!.sim.records()[0]!.cluster_id;
    // The first refresh done before the change, so the change is the next refresh's news.
    await fixture!.handle.executeUpdate(refreshNowUpdate);
    await fetch(`${fixture!.sim.url}/admin/clusters/${clusterId}/nodes/n2/state`, { method: 'POST', body: JSON.stringify({ agent: 'down' }) });
    const report = await fixture!.handle.executeUpdate(refreshNowUpdate);
    assert.ok(report.events_emitted > 0, 'the refresh made events');
    const result = await runCliProcess(['events', '--cluster', clusterId, '--from-beginning', '--json'], cliEnv(config, scram512));
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as FleetEvent);
    assert.ok(events.some((e) => e.event === 'AGENT_DOWN' && e.generation === report.generation), result.stdout);
    assert.ok(events.every((e) => e.cluster_id === clusterId));
  });

  it('PLAIN and SCRAM-SHA-256 connect too', async () => {
    const base = { FLEETVIEW_KAFKA_BROKERS: kafka.saslSsl, FLEETVIEW_KAFKA_TLS_CA_FILE: kafka.ca.cert };
    const plain = await listTopicsWith({ ...base, FLEETVIEW_KAFKA_SASL_MECHANISM: 'plain', FLEETVIEW_KAFKA_SASL_USERNAME: kafka.users.plain.username, FLEETVIEW_KAFKA_SASL_PASSWORD: kafka.users.plain.password });
    assert.ok(plain.includes(config.kafka.topic));
    const scram256 = await listTopicsWith({ ...base, FLEETVIEW_KAFKA_SASL_MECHANISM: 'scram-sha-256', FLEETVIEW_KAFKA_SASL_USERNAME: kafka.users.scram256.username, FLEETVIEW_KAFKA_SASL_PASSWORD: kafka.users.scram256.password });
    assert.ok(scram256.includes(config.kafka.topic));
  });

  it('a client certificate connects on the mTLS listener', async () => {
    const topics = await listTopicsWith({
      FLEETVIEW_KAFKA_BROKERS: kafka.mtls,
      FLEETVIEW_KAFKA_TLS_CA_FILE: kafka.ca.cert,
      FLEETVIEW_KAFKA_TLS_CERT_FILE: kafka.client.cert,
      FLEETVIEW_KAFKA_TLS_KEY_FILE: kafka.client.key,
    });
    assert.ok(topics.includes(config.kafka.topic));
  });
});

describe('Kafka refuses what does not fit, naming the service, the address and the cause', () => {
  it('a wrong password: the CLI exits 4, the worker does not start', async () => {
    const wrong = { ...scram512, FLEETVIEW_KAFKA_SASL_PASSWORD_FILE: pki.file('wrong-password', 'not-the-password\n') };
    const result = await runCliProcess(['events'], cliEnv(testConfig(), wrong));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach Kafka at ${kafka.saslSsl}: authentication failed: check FLEETVIEW_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD \\(SASL SCRAM SHA512 authentication failed`));
    assert.doesNotMatch(result.stderr, /not-the-password/);
    await assert.rejects(createFleetviewWorker(testConfig(wrong), createLogger('error')), (err: unknown) => {
      assert.ok(err instanceof ServiceConnectError, String(err));
      assert.match(err.message, new RegExp(`^Kafka at ${kafka.saslSsl}: authentication failed`));
      return true;
    });
  });

  it('another CA: the CLI exits 4', async () => {
    const result = await runCliProcess(['events'], cliEnv(testConfig(), { ...scram512, FLEETVIEW_KAFKA_TLS_CA_FILE: pki.ca('not-kafkas-ca').cert }));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach Kafka at ${kafka.saslSsl}: TLS: the server's certificate is not trusted \\(is FLEETVIEW_KAFKA_TLS_CA_FILE`));
  });

  it('no client certificate on the mTLS listener: the CLI exits 4', async () => {
    const result = await runCliProcess(['events'], cliEnv(testConfig(), { FLEETVIEW_KAFKA_BROKERS: kafka.mtls, FLEETVIEW_KAFKA_TLS_CA_FILE: kafka.ca.cert }));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach Kafka at ${kafka.mtls}: TLS: the server refused the connection during the handshake: it wants a client certificate .*\\(.*bad certificate\\)`));
  });
});
