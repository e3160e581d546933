/**
 * A Kafka broker of the test's own with the listeners operators meet in the wild, so the shared
 * broker stays as it is:
 *   - SASL_SSL: TLS plus SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (MSK, Confluent Cloud, Aiven);
 *   - SSL with a required client certificate (mTLS);
 * plus a plain listener for the broker itself. Same install as scripts/services.sh (its
 * FLEETVIEW_KAFKA_HOME); certificates from a TestPki; SCRAM users created when the log directory
 * is formatted (kafka-storage format --add-scram), PLAIN users in the listener's JAAS config.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './isolated-service.js';
import { servicesEnv } from './services-env.js';
import type { CertFiles, TestPki } from './tls.js';

export interface SaslUser {
  username: string;
  password: string;
}

export interface SecureKafka {
  /** host:port of the SASL_SSL listener. */
  saslSsl: string;
  /** host:port of the SSL listener that requires a client certificate. */
  mtls: string;
  /** CA of the broker's certificate and of the client certificates it accepts. */
  ca: CertFiles;
  /** A client certificate the mTLS listener accepts. */
  client: CertFiles;
  users: { plain: SaslUser; scram256: SaslUser; scram512: SaslUser };
  /** The broker's log, for failed assertions. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts the broker on free ports; once more on new ones when a port was taken between finding it
 * free and the broker binding it (another test's server or a client's outgoing connection).
 */
export async function startSecureKafka(pki: TestPki, users: SecureKafka['users']): Promise<SecureKafka> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSecureKafkaOnce(pki, users);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
      console.warn(`secure Kafka: a port was taken before the broker bound it; starting again on new ports (${err.message.split('\n')[0]})`);
    }
  }
}

class PortTakenError extends Error {}

async function startSecureKafkaOnce(pki: TestPki, users: SecureKafka['users']): Promise<SecureKafka> {
  const home = servicesEnv().FLEETVIEW_KAFKA_HOME;
  if (!home) throw new Error('scripts/services.sh env names no FLEETVIEW_KAFKA_HOME');
  const ca = pki.ca('kafka-ca');
  const server = pki.issue(ca, 'kafka-broker', 'server', ['127.0.0.1', 'localhost']);
  const client = pki.issue(ca, 'kafka-client', 'client');
  const [saslPort, mtlsPort, internalPort, controllerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = join(pki.dir, 'kafka');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // A PEM key store is the private key (PKCS#8, unencrypted) followed by the certificate chain.
  const keystore = pki.file('kafka-keystore.pem', readFileSync(server.key, 'utf8') + readFileSync(server.cert, 'utf8'));
  const jaas = (module: string, extra = '') => `org.apache.kafka.common.security.${module} required${extra};`;
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort},SASL_SSL://127.0.0.1:${saslPort},MTLS://127.0.0.1:${mtlsPort}`,
      `advertised.listeners=INTERNAL://127.0.0.1:${internalPort},SASL_SSL://127.0.0.1:${saslPort},MTLS://127.0.0.1:${mtlsPort}`,
      'listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=INTERNAL',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${keystore}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${ca.cert}`,
      'listener.name.mtls.ssl.client.auth=required',
      'listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_ssl.plain.sasl.jaas.config=${jaas('plain.PlainLoginModule', ` user_${users.plain.username}="${users.plain.password}"`)}`,
      `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${jaas('scram.ScramLoginModule')}`,
      `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas('scram.ScramLoginModule')}`,
      `log.dirs=${join(dir, 'logs')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
    ].join('\n'),
  );
  const logFile = join(dir, 'kafka.log');
  const jvm = ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${home}/libs/*`];
  const format = spawnSync(
    'java',
    [
      ...jvm, 'kafka.tools.StorageTool', 'format', '-g', '-t', randomBytes(16).toString('base64url'), '-c', props,
      '--add-scram', `SCRAM-SHA-256=[name=${users.scram256.username},password=${users.scram256.password}]`,
      '--add-scram', `SCRAM-SHA-512=[name=${users.scram512.username},password=${users.scram512.password}]`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (format.status !== 0) throw new Error(`kafka-storage format failed:\n${format.stdout}${format.stderr}`);
  let child: ChildProcess | undefined = spawn('java', [...jvm, 'kafka.Kafka', props], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));

  const kafka: SecureKafka = {
    saslSsl: `127.0.0.1:${saslPort}`,
    mtls: `127.0.0.1:${mtlsPort}`,
    ca,
    client,
    users,
    log: () => {
      writeFileSync(logFile, output);
      return output.slice(-5000);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running && exited === undefined) {
        const gone = new Promise((resolve) => running.once('exit', resolve));
        process.kill(-running.pid!, 'SIGTERM');
        const timer = setTimeout(() => exited === undefined && process.kill(-running.pid!, 'SIGKILL'), 20_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Ready when a SCRAM client gets metadata through TLS: every piece of the listener works.
  const probe = new Kafka({
    clientId: 'secure-kafka-probe',
    brokers: [kafka.saslSsl],
    ssl: { ca: [readFileSync(ca.cert)] },
    sasl: { mechanism: 'scram-sha-512', ...users.scram512 },
    connectionTimeout: 2000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) {
      const log = kafka.log();
      await kafka.stop();
      const Failure = /BindException|Address already in use/.test(log) ? PortTakenError : Error;
      throw new Failure(`the secure Kafka exited (${exited}):\n${log}`);
    }
    try {
      await probe.connect();
      await probe.describeCluster();
      await probe.disconnect();
      return kafka;
    } catch (err) {
      await probe.disconnect().catch(() => undefined);
      if (Date.now() > deadline) {
        await kafka.stop();
        throw new Error(`the secure Kafka was not ready within 120 s (${(err as Error).message}):\n${kafka.log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
