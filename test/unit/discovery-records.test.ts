import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { globProblem, globToRegExp, isGlob } from '../../src/adapters/discovery/glob.js';
import { validateRecord, validateRecords } from '../../src/adapters/discovery/records.js';

describe('record validation', () => {
  test('URL strings and node objects are normalized to node objects; display_name defaults to null; extra fields dropped', () => {
    assert.deepEqual(
      validateRecord({
        cluster_id: 'rs0',
        nodes: ['https://mongo-1:37017/', { agent_address: 'https://mongo-2:37017//', node_id: 'mongo-2', node_group: 'az1', node_class: null, rack: 'r1' }],
        owner: 'team-a',
      }),
      {
        ok: true,
        record: { cluster_id: 'rs0', display_name: null, nodes: [{ agent_address: 'https://mongo-1:37017' }, { agent_address: 'https://mongo-2:37017', node_id: 'mongo-2', node_group: 'az1' }] },
      },
    );
  });

  test('per-cluster settings are kept in canonical order; none set is no settings at all', () => {
    assert.deepEqual(validateRecord({ cluster_id: 'big', nodes: [], settings: { agent_timeout_ms: 4000, refresh_interval_s: 60 } }), {
      ok: true,
      record: { cluster_id: 'big', display_name: null, nodes: [], settings: { refresh_interval_s: 60, agent_timeout_ms: 4000 } },
    });
    assert.deepEqual(validateRecord({ cluster_id: 'big', nodes: [], settings: {} }), { ok: true, record: { cluster_id: 'big', display_name: null, nodes: [] } });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['not an object', 'rs0', /expected an object/],
    ['cluster id with a slash', { cluster_id: 'a/b', nodes: [] }, /invalid cluster id "a\/b"/],
    ['cluster id too long', { cluster_id: 'x'.repeat(129), nodes: [] }, /invalid cluster id/],
    ['cluster id missing', { nodes: [] }, /cluster id is missing/],
    ['nodes missing', { cluster_id: 'rs0' }, /nodes must be a list/],
    ['display name not a string', { cluster_id: 'rs0', display_name: 5, nodes: [] }, /display_name must be a string/],
    ['node URL without scheme', { cluster_id: 'rs0', nodes: ['mongo-1:37017'] }, /nodes\[0\]: invalid agent address/],
    ['node URL with a query', { cluster_id: 'rs0', nodes: ['http://a:1/?x=1'] }, /query and fragment are not allowed/],
    ['node URL with credentials', { cluster_id: 'rs0', nodes: ['http://u:p@a:1'] }, /credentials/],
    ['ftp node', { cluster_id: 'rs0', nodes: ['ftp://a:1'] }, /expected http:\/\/ or https:\/\//],
    ['node object without address', { cluster_id: 'rs0', nodes: [{ node_id: 'a' }] }, /nodes\[0\]: agent_address: agent address is missing/],
    ['invalid node id', { cluster_id: 'rs0', nodes: [{ agent_address: 'http://a:1', node_id: '$bad' }] }, /invalid node id/],
    ['control character in a group', { cluster_id: 'rs0', nodes: [{ agent_address: 'http://a:1', node_group: 'a\nb' }] }, /node_group must be/],
    ['the same node twice', { cluster_id: 'rs0', nodes: ['http://a:1', { agent_address: 'http://a:1/' }] }, /nodes\[1\]: agent address "http:\/\/a:1" listed twice/],
    ['settings not an object', { cluster_id: 'rs0', nodes: [], settings: 60 }, /settings must be an object/],
    ['an interval of 0', { cluster_id: 'rs0', nodes: [], settings: { refresh_interval_s: 0 } }, /settings.refresh_interval_s must be an integer from 1 to 86400, got 0/],
    ['a fractional timeout', { cluster_id: 'rs0', nodes: [], settings: { agent_timeout_ms: 1.5 } }, /settings.agent_timeout_ms must be an integer from 100 to 600000, got 1.5/],
    ['an unknown setting', { cluster_id: 'rs0', nodes: [], settings: { interval: 60 } }, /settings.interval is not a setting/],
  ];
  for (const [name, value, pattern] of invalid) {
    test(`rejected: ${name}`, () => {
      const outcome = validateRecord(value);
      assert.equal(outcome.ok, false);
      assert.match(outcome.ok ? '' : outcome.problem, pattern);
    });
  }

  test('a batch keeps the valid records in order and names each skipped one', () => {
    const result = validateRecords('inventory', [
      { location: 'records[0]', value: { cluster_id: 'a', nodes: [] } },
      { location: 'records[1]', value: { cluster_id: 'b c', nodes: [] } },
      { location: 'records[2]', value: { cluster_id: 'c', nodes: ['nope'] } },
      { location: 'records[3]', value: { cluster_id: 'a', nodes: ['http://x:1'] } },
      { location: 'records[4]', value: { cluster_id: 'd', nodes: [] } },
    ]);
    assert.deepEqual(
      result.records.map((r) => r.cluster_id),
      ['a', 'd'],
    );
    assert.deepEqual(
      result.errors.map((e) => ({ source: e.source, location: e.location, cluster_id: e.cluster_id })),
      [
        { source: 'inventory', location: 'records[1]', cluster_id: undefined },
        { source: 'inventory', location: 'records[2]', cluster_id: 'c' },
        { source: 'inventory', location: 'records[3]', cluster_id: 'a' },
      ],
    );
    assert.equal(result.errors[2]?.message, 'discovery "inventory": cluster_id "a" listed twice, at records[0] and at records[3]: the second is ignored');
  });

  test('an unreadable cluster id is not reported as the cluster id', () => {
    const result = validateRecords('s', [{ location: 'records[0]', value: { cluster_id: 42, nodes: [] } }]);
    assert.equal(result.errors[0]?.cluster_id, undefined);
    assert.equal(result.errors[0]?.message, 'discovery "s": records[0] skipped: cluster id must be a string, got a number');
  });
});

describe('glob matching', () => {
  test('* and ? in the file name only', () => {
    const matcher = globToRegExp('clusters-*.y?ml');
    assert.ok(matcher.test('clusters-a.yaml'));
    assert.ok(matcher.test('clusters-.yml') === false);
    assert.ok(matcher.test('clusters-eu.yml') === false);
    assert.ok(matcher.test('clusters-eu.yaml'));
    assert.ok(!matcher.test('clusters-a.json'));
    assert.ok(!matcher.test('xclusters-a.yaml'));
    assert.ok(globToRegExp('a.b(1)+[x].json').test('a.b(1)+[x].json'));
    assert.ok(!globToRegExp('a.json').test('aXjson'));
  });

  test('wildcards in directories are refused; plain paths are not globs', () => {
    assert.equal(isGlob('/etc/fleet/a.yaml'), false);
    assert.equal(isGlob('/etc/fleet/*.yaml'), true);
    assert.equal(globProblem('/etc/*/a.yaml')?.includes('only supported in the file name'), true);
    assert.equal(globProblem('/etc/fleet/*.yaml'), null);
  });
});
