// TLS, credentials and secrets of the three services: settings, `_FILE` secrets, redaction, and
// the client options built from them (src/adapters/connections).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import {
  ServiceConnectError,
  classifyConnectProblem,
  displayMongoUri,
  kafkaSecurity,
  mongoClientOptions,
  temporalConnectionOptions,
  tidyTlsMessage,
} from '../../src/adapters/connections/index.js';
import { displayUrl, redactedSetting } from '../../src/adapters/discovery/index.js';
import { ConfigError, Secret, loadConfig, secretFileEnv, settings } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetview-connections-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const pem = file('any.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.join('\n');
  }
  assert.fail('expected a ConfigError');
}

describe('connection settings', () => {
  it('default to plain connections, as scripts/services.sh runs them', () => {
    const config = loadConfig({});
    assert.deepEqual(temporalConnectionOptions(config.temporal), { address: '127.0.0.1:7233', tls: false });
    assert.deepEqual(kafkaSecurity(config.kafka), {});
    assert.deepEqual(mongoClientOptions(config.mongodb), {});
  });

  it('read a secret from its _FILE variable, without the trailing newline, and never show it', () => {
    const config = loadConfig({
      FLEETVIEW_TEMPORAL_API_KEY_FILE: file('api-key', 'key-from-file\n'),
      FLEETVIEW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      FLEETVIEW_KAFKA_SASL_USERNAME: 'fleetview',
      FLEETVIEW_KAFKA_SASL_PASSWORD: 'kafka-password',
    });
    assert.ok(config.temporal.apiKey instanceof Secret);
    assert.equal(config.temporal.apiKey.reveal(), 'key-from-file');
    const shown = [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.kafka.sasl.password), [config.temporal.apiKey].join('')].join('\n');
    assert.doesNotMatch(shown, /key-from-file|kafka-password/);
    assert.match(shown, /\[redacted\]/);
  });

  it('read secrets from the config file, inline or as <key>File', () => {
    const config = loadConfig({
      FLEETVIEW_CONFIG: file('fleetview.yaml', `kafka:\n  sasl: {mechanism: plain, username: u, passwordFile: ${file('pw', 'p1\n')}}\ntemporal:\n  apiKey: k1\n`),
    });
    assert.equal(config.kafka.sasl.password?.reveal(), 'p1');
    assert.equal(config.temporal.apiKey?.reveal(), 'k1');
  });

  it('refuse a secret given twice, or from a file that cannot be read, naming the variable and path only', () => {
    assert.match(problemsOf({ FLEETVIEW_TEMPORAL_API_KEY: 'k', FLEETVIEW_TEMPORAL_API_KEY_FILE: '/x' }), /FLEETVIEW_TEMPORAL_API_KEY and FLEETVIEW_TEMPORAL_API_KEY_FILE are both set/);
    assert.match(problemsOf({ FLEETVIEW_KAFKA_SASL_PASSWORD_FILE: '/nonexistent/pw' }), /FLEETVIEW_KAFKA_SASL_PASSWORD_FILE=\/nonexistent\/pw: cannot read the secret \(ENOENT\)/);
    assert.match(problemsOf({ FLEETVIEW_MONGODB_PASSWORD_FILE: file('empty', '\n') }), /FLEETVIEW_MONGODB_PASSWORD_FILE=.*: cannot read the secret \(the file is empty\)/);
  });

  it('never print a bad secret value; a bad URI is shown with its password masked', () => {
    const problems = problemsOf({ FLEETVIEW_MONGODB_URI: 'http://admin:hunter2@db:27017/', FLEETVIEW_AGENT_HEADERS: 'Bearer hunter3' });
    assert.doesNotMatch(problems, /hunter2|hunter3/);
    assert.match(problems, /FLEETVIEW_MONGODB_URI="http:\/\/admin:\*\*\*@db:27017\/": expected a mongodb:/);
    assert.match(problems, /FLEETVIEW_AGENT_HEADERS=\[redacted\]: expected a JSON object/);
  });

  it('check settings that go together, and files that must exist', () => {
    assert.match(problemsOf({ FLEETVIEW_TEMPORAL_TLS_CERT_FILE: pem }), /FLEETVIEW_TEMPORAL_TLS_CERT_FILE and FLEETVIEW_TEMPORAL_TLS_KEY_FILE must be set together/);
    assert.match(problemsOf({ FLEETVIEW_KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' }), /FLEETVIEW_KAFKA_TLS_CA_FILE=\/nonexistent\/ca.pem: cannot read the file \(ENOENT\)/);
    assert.match(problemsOf({ FLEETVIEW_MONGODB_TLS: 'false', FLEETVIEW_MONGODB_TLS_CA_FILE: pem }), /FLEETVIEW_MONGODB_TLS=false, but FLEETVIEW_MONGODB_TLS_\* settings are given/);
    assert.match(problemsOf({ FLEETVIEW_KAFKA_SASL_MECHANISM: 'scram-sha-256', FLEETVIEW_KAFKA_SASL_USERNAME: 'u' }), /needs FLEETVIEW_KAFKA_SASL_USERNAME and FLEETVIEW_KAFKA_SASL_PASSWORD/);
    assert.match(problemsOf({ FLEETVIEW_KAFKA_SASL_MECHANISM: 'gssapi' }), /FLEETVIEW_KAFKA_SASL_MECHANISM="gssapi": expected one of plain, scram-sha-256, scram-sha-512/);
    assert.match(problemsOf({ FLEETVIEW_KAFKA_SASL_USERNAME: 'u' }), /without FLEETVIEW_KAFKA_SASL_MECHANISM/);
    assert.match(problemsOf({ FLEETVIEW_MONGODB_PASSWORD: 'p' }), /FLEETVIEW_MONGODB_PASSWORD is set without FLEETVIEW_MONGODB_USERNAME/);
    assert.match(problemsOf({ FLEETVIEW_TEMPORAL_TLS: 'maybe' }), /FLEETVIEW_TEMPORAL_TLS="maybe": expected true or false/);
  });
});

describe('client options from the settings', () => {
  it('Temporal: CA, client certificate, server name; an API key turns TLS on unless TLS=false', () => {
    const config = loadConfig({
      FLEETVIEW_TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      FLEETVIEW_TEMPORAL_TLS_CA_FILE: pem,
      FLEETVIEW_TEMPORAL_TLS_CERT_FILE: pem,
      FLEETVIEW_TEMPORAL_TLS_KEY_FILE: pem,
      FLEETVIEW_TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const options = temporalConnectionOptions(config.temporal);
    assert.ok(options.tls && typeof options.tls === 'object');
    assert.equal(options.tls.serverNameOverride, 'temporal.internal');
    assert.match(Buffer.from(options.tls.serverRootCACertificate!).toString(), /BEGIN CERTIFICATE/);
    assert.ok(options.tls.clientCertPair);
    assert.deepEqual(temporalConnectionOptions(loadConfig({ FLEETVIEW_TEMPORAL_API_KEY: 'k' }).temporal), { address: '127.0.0.1:7233', apiKey: 'k', tls: {} });
    assert.deepEqual(temporalConnectionOptions(loadConfig({ FLEETVIEW_TEMPORAL_API_KEY: 'k', FLEETVIEW_TEMPORAL_TLS: 'false' }).temporal).tls, false);
  });

  it('Kafka: SASL turns TLS on (SASL_SSL) unless TLS=false (SASL_PLAINTEXT); CA and client certificate', () => {
    const sasl = { FLEETVIEW_KAFKA_SASL_MECHANISM: 'plain', FLEETVIEW_KAFKA_SASL_USERNAME: 'u', FLEETVIEW_KAFKA_SASL_PASSWORD: 'p' };
    assert.deepEqual(kafkaSecurity(loadConfig(sasl).kafka), { ssl: {}, sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
    assert.deepEqual(kafkaSecurity(loadConfig({ ...sasl, FLEETVIEW_KAFKA_TLS: 'false' }).kafka), { sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
    const mtls = kafkaSecurity(loadConfig({ FLEETVIEW_KAFKA_TLS_CA_FILE: pem, FLEETVIEW_KAFKA_TLS_CERT_FILE: pem, FLEETVIEW_KAFKA_TLS_KEY_FILE: pem }).kafka);
    assert.ok(mtls.ssl && typeof mtls.ssl === 'object' && mtls.ssl.ca && mtls.ssl.cert && mtls.ssl.key);
  });

  it('MongoDB: TLS files and credentials besides the URI; without them the URI decides', () => {
    const options = mongoClientOptions(
      loadConfig({ FLEETVIEW_MONGODB_TLS_CA_FILE: pem, FLEETVIEW_MONGODB_TLS_CERT_FILE: pem, FLEETVIEW_MONGODB_TLS_KEY_FILE: pem, FLEETVIEW_MONGODB_USERNAME: 'u', FLEETVIEW_MONGODB_PASSWORD: 'p' }).mongodb,
    );
    assert.equal(options.tls, true);
    assert.ok(Buffer.isBuffer(options.ca) && Buffer.isBuffer(options.cert) && Buffer.isBuffer(options.key));
    assert.deepEqual(options.auth, { username: 'u', password: 'p' });
    assert.deepEqual(mongoClientOptions(loadConfig({ FLEETVIEW_MONGODB_URI: 'mongodb+srv://u:p@c.mongodb.net/?tls=true' }).mongodb), {});
  });

  it('MongoDB URIs are shown without password or query', () => {
    assert.equal(displayMongoUri('mongodb://admin:s3cret@db1:27017,db2:27017/fleet?authSource=admin'), 'mongodb://admin:***@db1:27017,db2:27017/fleet');
    assert.equal(displayMongoUri('mongodb+srv://c.example.net/'), 'mongodb+srv://c.example.net/');
  });
});

describe('ServiceConnectError', () => {
  it('names the service, the address, and the cause in words, keeping the driver message', () => {
    const untrusted = new ServiceConnectError('Kafka', 'b:9093', 'self-signed certificate in certificate chain');
    assert.match(untrusted.message, /^Kafka at b:9093: TLS: the server's certificate is not trusted \(is FLEETVIEW_KAFKA_TLS_CA_FILE .*\) \(self-signed certificate in certificate chain\)$/);
    assert.equal(new ServiceConnectError('Kafka', 'b:9093', 'SASL SCRAM SHA512 authentication failed: invalid credentials').problem, 'authentication');
    assert.equal(new ServiceConnectError('Temporal', 't:7233', 'invalid peer certificate: UnknownIssuer').problem, 'untrusted-certificate');
    assert.equal(new ServiceConnectError('MongoDB', 'm', 'connect ECONNREFUSED 127.0.0.1:1').problem, 'refused');
  });
});

it("keeps OpenSSL's reason and drops its noise", () => {
  assert.equal(
    tidyTlsMessage('Connection error: 808C6270707F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n'),
    'Connection error: sslv3 alert bad certificate',
  );
});

describe('discovery settings as shown', () => {
  it('mask header values, URL passwords and query values', () => {
    const setting = {
      name: 'inventory',
      backend: 'http' as const,
      enabled: true,
      interval: 60,
      options: { url: 'https://ops:pw@inventory.example/discovery?token=abc&team=storage', headers: { Authorization: 'Bearer abc' } },
    };
    const shown = JSON.stringify(redactedSetting(setting as never));
    assert.doesNotMatch(shown, /abc|:pw@/);
    assert.match(shown, /"Authorization":"\[redacted\]"/);
    assert.match(shown, /https:\/\/ops:\*\*\*@inventory\.example\/discovery\?token=\*\*\*&team=\*\*\*/);
    assert.equal(displayUrl('http://127.0.0.1:7070/discovery'), 'http://127.0.0.1:7070/discovery');
  });
});

it('docker-compose.yml shows only settings config.ts reads, with the files under /run/secrets', () => {
  const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
  const known = new Set(settings.flatMap((s) => ('secret' in s && s.secret ? [s.env, secretFileEnv(s.env)] : [s.env])));
  const commented = [...compose.matchAll(/^\s*# (FLEETVIEW_[A-Z0-9_]+): (\S+)$/gm)];
  assert.ok(commented.length >= 10, 'the worker lists the connection settings');
  for (const [, name, value] of commented) {
    assert.ok(known.has(name!), `${name} is not read by src/config.ts`);
    if (name!.endsWith('_FILE')) assert.match(value!, /^\/run\/secrets\//, name);
  }
});

describe('connect failures the native Temporal connection reports vaguely', () => {
  it('a connection closed during the handshake is a TLS problem to probe, not an unknown one', () => {
    // What the worker's native connection said once (CI) when the server refused its missing client certificate.
    const message = `Failed to call GetSystemInfo: code: 'The operation was cancelled', message: "operation was canceled", source: tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))`;
    assert.equal(classifyConnectProblem(message), 'not-tls');
    assert.equal(classifyConnectProblem(`${message}; TLS handshake: tlsv13 alert certificate required`), 'client-certificate-refused');
  });
});
