// The discovery side of the audit trail, without services: what a DISCOVERY_* event carries of
// a discovery's settings (never a secret), that every such event fits the published JSON Schema,
// and how `discovery list` shows a pause.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditedSetting } from '../../src/adapters/discovery/index.js';
import { eventSchemaProblems } from '../../src/adapters/event-schema.js';
import { describePause } from '../../src/cli/discovery-commands.js';
import { discoveryScopedEvent } from '../../src/domain/event-catalogue.js';
import { discoverySetting } from '../helpers/discovery.js';

const secrets = ['tok3n-header', 'p4ss-url', 'qu3ry-value', 'us3r-token', 'fr4gment', 'b0dy-secret', 'n3sted-secret'];
const actor = { user: 'alice', identity: '123@ops-host' };
const at = '2026-12-02T10:00:00.000Z';

const http = discoverySetting({
  name: 'inventory',
  backend: 'http',
  options: {
    url: `https://us3r-token:p4ss-url@inventory.example/discovery?token=qu3ry-value&team=qu3ry-value#fr4gment`,
    headers: { Authorization: 'Bearer tok3n-header', 'X-Api-Key': 'tok3n-header' },
    body: { api_key: 'b0dy-secret', filter: { team: 'n3sted-secret' } },
    ca_file: '/etc/ca.pem',
  },
});
const httpSd = discoverySetting({
  name: 'targets',
  backend: 'http_sd',
  options: { url: 'http://us3r-token@sd.example/targets?key=qu3ry-value', headers: { Authorization: 'tok3n-header' } },
});
const file = discoverySetting({ name: 'files', backend: 'file', options: { path: '/srv/clusters/*.yaml' } });

describe('DISCOVERY_APPLIED and DISCOVERY_DELETED payloads', () => {
  it('carry no secret of any backend: header values, URL user, password, query and fragment, POST body values', () => {
    for (const setting of [http, httpSd, file]) {
      const events = [
        discoveryScopedEvent('DISCOVERY_APPLIED', { actor, discovery: setting.name, before: auditedSetting(setting), after: auditedSetting(setting) }, at),
        discoveryScopedEvent('DISCOVERY_DELETED', { actor, discovery: setting.name, before: auditedSetting(setting), after: null }, at),
      ];
      for (const event of events) {
        const text = JSON.stringify(event);
        for (const secret of secrets) assert.ok(!text.includes(secret), `${setting.name}: ${secret} in ${text}`);
        assert.deepEqual(eventSchemaProblems(event), [], text);
      }
    }
  });

  it('keep what shows what changed: names, keys, the URL without its secrets, paths', () => {
    const shown = auditedSetting(http) as { name: string; interval: number; options: Record<string, unknown> };
    assert.equal(shown.name, 'inventory');
    assert.equal(shown.interval, 60);
    assert.equal(shown.options.url, 'https://***:***@inventory.example/discovery?token=***&team=***#***');
    assert.deepEqual(shown.options.headers, { Authorization: '[redacted]', 'X-Api-Key': '[redacted]' });
    assert.deepEqual(shown.options.body, { api_key: '[redacted]', filter: '[redacted]' });
    assert.equal(shown.options.ca_file, '/etc/ca.pem');
    assert.deepEqual(auditedSetting(file), { ...file, options: { path: '/srv/clusters/*.yaml' } });
    // The stored setting itself is left as it was.
    assert.equal((http.options as { headers: Record<string, string> }).headers.Authorization, 'Bearer tok3n-header');
  });

  it('are keyed by the discovery with cluster_id null, ids named by the time of the action', () => {
    const event = discoveryScopedEvent('RETIREMENT_HOLD_RELEASED', { actor, discovery: 'inventory', released: 812 }, at);
    assert.equal(event.id, `discovery/inventory/${at}/RETIREMENT_HOLD_RELEASED`);
    assert.equal(event.cluster_id, null);
    assert.equal(event.category, 'DISCOVERY');
    assert.equal(event.timestamp, at);
    assert.deepEqual(eventSchemaProblems(event), []);
    const paused = discoveryScopedEvent('DISCOVERY_PAUSED', { actor, discovery: 'inventory', reason: 'migration', until: null, clusters: 3 }, at);
    assert.deepEqual(eventSchemaProblems(paused), []);
  });
});

describe('discovery list: PAUSED', () => {
  const now = Date.parse(at);
  it('shows an active pause with its end, who and why; an ended one as -', () => {
    const pause = { since: at, until: '2026-12-02T12:00:00.000Z', reason: 'inventory migration', actor };
    assert.equal(describePause(pause, now), 'until 2026-12-02T12:00:00.000Z by alice: inventory migration');
    assert.equal(describePause({ ...pause, until: null }, now), 'until resumed by alice: inventory migration');
    assert.equal(describePause(pause, Date.parse('2026-12-02T12:00:01.000Z')), '-');
    assert.equal(describePause(null, now), '-');
  });
});
