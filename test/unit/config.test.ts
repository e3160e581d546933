import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, settings } from '../../src/config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected loadConfig to throw');
}

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fleetview-config-')), name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfig', () => {
  it('defaults match scripts/services.sh', () => {
    const config = loadConfig({});
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.equal(config.temporal.uiUrl, 'http://127.0.0.1:8233');
    assert.equal(config.temporal.taskQueue, 'fleetview');
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.kafka.topic, 'fleetview.events');
    assert.equal(config.mongodb.uri, 'mongodb://127.0.0.1:27017/');
    assert.equal(config.mongodb.database, 'fleetview');
    assert.equal(config.agent.timeoutMs, 5000);
    assert.equal(config.agent.maxResponseBytes, 1024 * 1024);
    assert.equal(config.agent.insecureSkipVerify, false);
  });

  it('reads environment variables, parsing lists, numbers, booleans and JSON', () => {
    const config = loadConfig({
      FLEETVIEW_KAFKA_BROKERS: 'a:9092, b:9093',
      FLEETVIEW_AGENT_TIMEOUT_MS: '750',
      FLEETVIEW_AGENT_INSECURE_SKIP_VERIFY: 'true',
      FLEETVIEW_AGENT_HEADERS: '{"Authorization":"Bearer t"}',
      FLEETVIEW_LOG_LEVEL: 'DEBUG',
    });
    assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9093']);
    assert.equal(config.agent.timeoutMs, 750);
    assert.equal(config.agent.insecureSkipVerify, true);
    assert.deepEqual(config.agent.headers, { Authorization: 'Bearer t' });
    assert.equal(config.worker.logLevel, 'debug');
  });

  it('reads a YAML config file, with the environment winning over it', () => {
    const file = tempFile('fleetview.yaml', 'kafka:\n  topic: from-file\n  topicPartitions: 6\nmongodb:\n  database: filedb\n');
    const config = loadConfig({ FLEETVIEW_CONFIG: file, FLEETVIEW_MONGODB_DATABASE: 'envdb' });
    assert.equal(config.kafka.topic, 'from-file');
    assert.equal(config.kafka.topicPartitions, 6);
    assert.equal(config.mongodb.database, 'envdb');
  });

  it('lists every bad value at once, naming the variable and the value', () => {
    const problems = problemsOf(() =>
      loadConfig({ FLEETVIEW_AGENT_TIMEOUT_MS: 'soon', FLEETVIEW_KAFKA_BROKERS: 'no-port', FLEETVIEW_MONGODB_URI: 'http://x' }),
    );
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /FLEETVIEW_AGENT_TIMEOUT_MS="soon": expected an integer/);
    assert.match(problems.join('\n'), /FLEETVIEW_KAFKA_BROKERS="no-port": expected host:port/);
    assert.match(problems.join('\n'), /FLEETVIEW_MONGODB_URI="http:\/\/x": expected a mongodb: or mongodb\+srv: URL/);
  });

  it('names the file and key of a bad or unknown file setting', () => {
    const file = tempFile('bad.yaml', 'kafka:\n  topicPartitions: zero\n  topik: typo\n');
    const problems = problemsOf(() => loadConfig({ FLEETVIEW_CONFIG: file }));
    assert.ok(problems.some((p) => p.includes(`${file}: kafka.topicPartitions="zero"`)), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes(`${file}: unknown setting 'kafka.topik'`)), problems.join('\n'));
  });

  it('fails clearly on an unreadable or unparsable config file', () => {
    assert.match(problemsOf(() => loadConfig({ FLEETVIEW_CONFIG: '/nonexistent/fleetview.yaml' }))[0]!, /cannot read the file/);
    const broken = tempFile('broken.yaml', 'kafka: [unclosed\n');
    assert.match(problemsOf(() => loadConfig({ FLEETVIEW_CONFIG: broken }))[0]!, /not valid YAML or JSON/);
  });

  it('refuses a config file that is not UTF-8, naming the file, the line and the column', () => {
    const latin1 = join(mkdtempSync(join(tmpdir(), 'fleetview-config-')), 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('kafka:\n  clientId: fleetview-z\xfcrich\n', 'latin1'));
    assert.deepEqual(problemsOf(() => loadConfig({ FLEETVIEW_CONFIG: latin1 })), [
      `FLEETVIEW_CONFIG=${latin1}: not UTF-8: byte 0xFC at line 2, column 24 (byte offset 30); save the file as UTF-8`,
    ]);
  });

  it('requires the mTLS certificate and key together', () => {
    assert.match(problemsOf(() => loadConfig({ FLEETVIEW_AGENT_CERT_FILE: '/x.pem' }))[0]!, /must be set together/);
  });

  it('documents every setting with a FLEETVIEW_ variable and a unique key', () => {
    assert.equal(new Set(settings.map((s) => s.env)).size, settings.length);
    assert.equal(new Set(settings.map((s) => s.key)).size, settings.length);
    for (const s of settings) {
      assert.match(s.env, /^FLEETVIEW_[A-Z0-9_]+$/);
      assert.ok(s.doc.length > 10, `${s.env} needs a doc`);
    }
  });
});
