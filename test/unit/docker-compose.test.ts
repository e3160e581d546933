// No Docker engine runs here: check docker-compose.yml against src/config.ts and the services script instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { fleetviewSearchAttributes } from '../../src/adapters/search-attributes.js';
import { loadConfig, settings } from '../../src/config.js';

interface ComposeService {
  image?: string;
  ports?: string[];
  environment?: Record<string, string>;
  command?: string[];
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, ComposeService> };
const servicesScript = readFileSync(new URL('../../scripts/services.sh', import.meta.url), 'utf8');
const defaults = loadConfig({});

function published(service: string): number[] {
  return (compose.services[service]?.ports ?? []).map((mapping) => {
    const [, hostPort, containerPort] = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(mapping) ?? [];
    assert.ok(hostPort && containerPort, `${service}: port ${mapping} should be published on 127.0.0.1 only`);
    return Number(hostPort);
  });
}

function portOf(address: string): number {
  return Number(new URL(address.includes('://') ? address : `tcp://${address}`).port);
}

function scriptDefault(variable: string): number {
  const match = new RegExp(`\\$\\{${variable}:-(\\d+)\\}`).exec(servicesScript);
  assert.ok(match, `scripts/services.sh should default ${variable}`);
  return Number(match[1]);
}

describe('docker-compose.yml', () => {
  it('has the Temporal dev server with its UI, Kafka, real MongoDB and the worker', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['kafka', 'mongodb', 'temporal', 'worker']);
    assert.match(compose.services.mongodb?.image ?? '', /^mongo:/);
    for (const [name, type] of Object.entries(fleetviewSearchAttributes)) {
      assert.ok(compose.services.temporal?.command?.includes(`--search-attribute=${name}=${type}`), `the dev server registers ${name}`);
    }
  });

  it('publishes the ports config.ts and scripts/services.sh default to', () => {
    assert.deepEqual(published('temporal'), [portOf(defaults.temporal.address), portOf(defaults.temporal.uiUrl)]);
    assert.deepEqual(published('kafka'), defaults.kafka.brokers.map(portOf));
    assert.deepEqual(published('mongodb'), [portOf(defaults.mongodb.uri)]);
    assert.deepEqual(published('worker'), [defaults.worker.metricsPort]);
    assert.deepEqual(
      [scriptDefault('FLEETVIEW_TEMPORAL_PORT'), scriptDefault('FLEETVIEW_TEMPORAL_UI_PORT'), scriptDefault('FLEETVIEW_KAFKA_PORT'), scriptDefault('FLEETVIEW_MONGODB_PORT')],
      [portOf(defaults.temporal.address), portOf(defaults.temporal.uiUrl), portOf(defaults.kafka.brokers[0]!), portOf(defaults.mongodb.uri)],
    );
  });

  it('configures the worker only with variables config.ts reads, and valid values', () => {
    const environment = compose.services.worker?.environment ?? {};
    const known = new Set(settings.map((s) => s.env));
    for (const name of Object.keys(environment)) assert.ok(known.has(name), `${name} is not read by src/config.ts`);
    const config = loadConfig(environment);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.deepEqual(config.kafka.brokers, ['kafka:19092']);
    assert.equal(config.mongodb.uri, 'mongodb://mongodb:27017/');
  });

  it('advertises the Kafka listener the worker uses', () => {
    const advertised = compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? '';
    assert.ok(advertised.includes('//kafka:19092'), advertised);
    assert.ok(advertised.includes('//127.0.0.1:9092'), advertised);
  });
});
