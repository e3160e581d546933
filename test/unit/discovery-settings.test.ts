import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DiscoverySettingsError, loadDiscoverySettingsFiles, parseDiscoverySetting } from '../../src/adapters/discovery/settings.js';
import { cleanupBound, setupBound } from '../helpers/bounded.js';

describe('discovery settings documents', () => {
  test('defaults are filled in for each backend', () => {
    assert.deepEqual(parseDiscoverySetting({ name: 'files', backend: 'file', options: { path: '/etc/fleet/*.yaml' } }, 'doc'), {
      ok: true,
      setting: { name: 'files', backend: 'file', enabled: true, interval: 60, retirement_guard: { max_missing_share: 0.5, min_missing: 3 }, options: { path: '/etc/fleet/*.yaml' } },
    });
    assert.deepEqual(parseDiscoverySetting({ name: 'inv', backend: 'http', interval: 30, options: { url: 'https://inventory/discover' } }, 'doc'), {
      ok: true,
      setting: {
        name: 'inv',
        backend: 'http',
        enabled: true,
        interval: 30,
        retirement_guard: { max_missing_share: 0.5, min_missing: 3 },
        options: { url: 'https://inventory/discover', method: 'POST', body: {}, headers: {}, timeout: 10, max_pages: 100, max_response_bytes: 16 * 1024 * 1024, insecure_skip_verify: false },
      },
    });
    const sd = parseDiscoverySetting({ name: 'prom', backend: 'http_sd', enabled: false, options: { url: 'http://sd:9000/targets', cluster_label: 'ensemble' } }, 'doc');
    assert.ok(sd.ok);
    assert.equal(sd.setting.enabled, false);
    assert.deepEqual(sd.setting.backend === 'http_sd' && [sd.setting.options.cluster_label, sd.setting.options.address_label, sd.setting.options.scheme], ['ensemble', '__meta_agent_address', 'http']);
  });

  const invalid: [string, unknown, RegExp][] = [
    ['unknown backend', { name: 'x', backend: 'consul', options: {} }, /backend/],
    ['typo in an option', { name: 'x', backend: 'file', options: { pth: '/a.yaml' } }, /pth/],
    ['typo at the top', { name: 'x', backend: 'file', intervall: 5, options: { path: '/a' } }, /intervall/],
    ['bad name', { name: 'a b', backend: 'file', options: { path: '/a' } }, /^doc \("a b"\): name: /],
    ['interval zero', { name: 'x', backend: 'file', interval: 0, options: { path: '/a' } }, /interval/],
    ['interval not an integer', { name: 'x', backend: 'file', interval: 1.5, options: { path: '/a' } }, /interval/],
    ['wildcard in a directory', { name: 'x', backend: 'file', options: { path: '/etc/*/a.yaml' } }, /only supported in the file name/],
    ['not a URL', { name: 'x', backend: 'http', options: { url: 'inventory:80' } }, /url: expected an http/],
    ['ftp URL', { name: 'x', backend: 'http_sd', options: { url: 'ftp://sd/x' } }, /url/],
    ['bad method', { name: 'x', backend: 'http', options: { url: 'http://a/', method: 'PUT' } }, /method/],
    ['cert without key', { name: 'x', backend: 'http', options: { url: 'http://a/', cert_file: '/c.pem' } }, /cert_file and key_file go together/],
    ['operator key in the body', { name: 'x', backend: 'http', options: { url: 'http://a/', body: { filter: { $where: '1' } } } }, /keys may not start with \$/],
    ['bad header name', { name: 'x', backend: 'http', options: { url: 'http://a/', headers: { 'a b': 'c' } } }, /header names/],
    ['zero timeout', { name: 'x', backend: 'http', options: { url: 'http://a/', timeout: 0 } }, /timeout/],
    [
      'guard share over 1',
      { name: 'x', backend: 'file', retirement_guard: { max_missing_share: 50 }, options: { path: '/a' } },
      /retirement_guard\.max_missing_share: expected a share from 0 to 1 .*got 50$/,
    ],
    ['guard share negative', { name: 'x', backend: 'file', retirement_guard: { max_missing_share: -0.1 }, options: { path: '/a' } }, /max_missing_share: .*got -0\.1$/],
    ['guard share as text', { name: 'x', backend: 'file', retirement_guard: { max_missing_share: '50%' }, options: { path: '/a' } }, /max_missing_share: .*got "50%"$/],
    ['guard minimum zero', { name: 'x', backend: 'file', retirement_guard: { min_missing: 0 }, options: { path: '/a' } }, /retirement_guard\.min_missing: expected a whole number of clusters from 1 to 1000000, got 0$/],
    ['guard minimum fractional', { name: 'x', backend: 'file', retirement_guard: { min_missing: 2.5 }, options: { path: '/a' } }, /min_missing: .*got 2\.5$/],
    ['typo in the guard', { name: 'x', backend: 'file', retirement_guard: { max_missing: 0.2 }, options: { path: '/a' } }, /retirement_guard: .*max_missing/],
    ['guard not an object', { name: 'x', backend: 'file', retirement_guard: true, options: { path: '/a' } }, /retirement_guard: /],
  ];
  test('the retirement guard: defaults for what is left out, 1 turns it off', () => {
    const partial = parseDiscoverySetting({ name: 'g', backend: 'file', retirement_guard: { min_missing: 10 }, options: { path: '/a' } }, 'doc');
    assert.deepEqual(partial.ok && partial.setting.retirement_guard, { max_missing_share: 0.5, min_missing: 10 });
    const off = parseDiscoverySetting({ name: 'g', backend: 'file', retirement_guard: { max_missing_share: 1 }, options: { path: '/a' } }, 'doc');
    assert.deepEqual(off.ok && off.setting.retirement_guard, { max_missing_share: 1, min_missing: 3 });
  });

  for (const [name, raw, pattern] of invalid) {
    test(`rejected: ${name}`, () => {
      const parsed = parseDiscoverySetting(raw, 'doc');
      assert.equal(parsed.ok, false);
      assert.match(parsed.ok ? '' : parsed.problem, pattern);
    });
  }
});

describe('loading settings files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetview-settings-'));
  }, setupBound);
  after(() => rmSync(dir, { recursive: true, force: true }), cleanupBound);

  test('several documents per file, lists in a document, relative paths resolved against the file', async () => {
    const first = join(dir, 'a.yaml');
    writeFileSync(
      first,
      `name: local-files
backend: file
options: {path: clusters/*.yaml}
---
- name: inventory
  backend: http
  interval: 15
  options: {url: "https://inventory.example/discovery", ca_file: certs/ca.pem, body: {team: storage}}
- name: prom
  backend: http_sd
  options: {url: "http://sd.example/targets"}
---
`,
    );
    const second = join(dir, 'b.json');
    writeFileSync(second, JSON.stringify({ name: 'abs', backend: 'file', enabled: false, options: { path: '/srv/fleet.json' } }));
    const settings = await loadDiscoverySettingsFiles([first, second]);
    assert.deepEqual(
      settings.map((s) => s.name),
      ['local-files', 'inventory', 'prom', 'abs'],
    );
    assert.deepEqual(settings[0]?.options, { path: join(dir, 'clusters/*.yaml') });
    assert.equal(settings[1]?.backend === 'http' && settings[1].options.ca_file, join(dir, 'certs/ca.pem'));
    assert.equal(settings[1]?.interval, 15);
    assert.equal(settings[2]?.backend === 'http_sd' && settings[2].options.ca_file, undefined);
    assert.deepEqual(settings[3]?.options, { path: '/srv/fleet.json' });
  });

  test('every problem of every file is listed at once, duplicates named with where they were first defined', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: [unclosed\n');
    const dupes = join(dir, 'dupes.yaml');
    writeFileSync(
      dupes,
      `name: same
backend: file
options: {path: /a}
---
name: same
backend: file
options: {path: /b}
---
name: typo
backend: file
options: {paht: /c}
`,
    );
    await assert.rejects(loadDiscoverySettingsFiles([broken, dupes, join(dir, 'missing.yaml')]), (error: unknown) => {
      assert.ok(error instanceof DiscoverySettingsError);
      assert.equal(error.problems.length, 4);
      assert.match(error.problems[0] ?? '', /broken\.yaml: not valid YAML/);
      assert.match(error.problems[1] ?? '', /dupes\.yaml document 2: discovery "same" is already defined at .*dupes\.yaml document 1/);
      assert.match(error.problems[2] ?? '', /dupes\.yaml document 3 \("typo"\): .*paht/);
      assert.match(error.problems[3] ?? '', /missing\.yaml: cannot read the file/);
      return true;
    });
  });
});
