import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAgentInfo, parseDatastoreInfo, parseShards } from '../../src/adapters/agent-schema.js';

describe('agent info', () => {
  test('three required strings; extra fields dropped', () => {
    assert.deepEqual(parseAgentInfo({ version: { checkout: 'a1', number: '0.3.1', taint: 'not tainted', extra: 1 }, uptime: 5 }), {
      ok: true,
      value: { version: { checkout: 'a1', number: '0.3.1', taint: 'not tainted' } },
    });
  });

  test('missing or mistyped fields name the path', () => {
    const missing = parseAgentInfo({ version: { checkout: 'a1', number: '0.3.1' } });
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.problem : '', /^version\.taint: /);
    const notObject = parseAgentInfo([1, 2]);
    assert.equal(notObject.ok, false);
  });
});

describe('datastore info', () => {
  const valid = { cluster_id: 'rs0', node_id: 'mongo-1:27017', kind: 'mongodb', version: '6.0.5' };

  test('cluster_display_name missing or null becomes null; a string is kept', () => {
    assert.deepEqual(parseDatastoreInfo(valid), { ok: true, value: { ...valid, cluster_display_name: null } });
    assert.deepEqual(parseDatastoreInfo({ ...valid, cluster_display_name: null }), { ok: true, value: { ...valid, cluster_display_name: null } });
    assert.deepEqual(parseDatastoreInfo({ ...valid, cluster_display_name: 'Orders' }), { ok: true, value: { ...valid, cluster_display_name: 'Orders' } });
  });

  test('the spec page calls the node id `id`; agents send node_id, which is required', () => {
    const { node_id: _dropped, ...withoutNodeId } = valid;
    const parsed = parseDatastoreInfo({ ...withoutNodeId, id: 'mongo-1:27017' });
    assert.equal(parsed.ok, false);
    assert.match(!parsed.ok ? parsed.problem : '', /^node_id: /);
  });

  test('node ids are checked like every id that reaches keys', () => {
    const parsed = parseDatastoreInfo({ ...valid, node_id: '$where' });
    assert.equal(parsed.ok, false);
    assert.match(!parsed.ok ? parsed.problem : '', /^node_id: invalid node id/);
  });
});

describe('shards', () => {
  test('roles in any case come out lowercase; unknown roles keep their text', () => {
    const parsed = parseShards({
      shards: [
        { id: 'a', role: 'PRIMARY' },
        { id: 'b', role: 'Secondary' },
        { id: 'c', role: { unknown: 'arbiter' } },
        { id: 'd', role: { UNKNOWN: 'Hidden' } },
        { id: 'e', role: 'recovering' },
      ],
    });
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.map((shard) => shard.role),
      ['primary', 'secondary', { unknown: 'arbiter' }, { unknown: 'Hidden' }, { unknown: 'recovering' }],
    );
  });

  test('offsets: seconds or custom units kept, null or missing become null', () => {
    const parsed = parseShards({
      shards: [
        { id: 'a', role: 'primary', commit_offset: { unit: 'seconds', value: 17 }, lag: null },
        { id: 'b', role: 'secondary', commit_offset: { unit: { unit: 'offset' }, value: 4711 }, lag: { unit: { unit: 'offset' }, value: 0 } },
        { id: 'c', role: 'secondary' },
      ],
    });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, [
      { id: 'a', role: 'primary', commit_offset: { unit: 'seconds', value: 17 }, lag: null },
      { id: 'b', role: 'secondary', commit_offset: { unit: { unit: 'offset' }, value: 4711 }, lag: { unit: { unit: 'offset' }, value: 0 } },
      { id: 'c', role: 'secondary', commit_offset: null, lag: null },
    ]);
  });

  test('offset values must be integers', () => {
    for (const value of [1.5, '12', null, 2 ** 60]) {
      const parsed = parseShards({ shards: [{ id: 'a', role: 'primary', commit_offset: { unit: 'seconds', value } }] });
      assert.equal(parsed.ok, false, `value ${String(value)}`);
      assert.match(!parsed.ok ? parsed.problem : '', /^shards\[0\]\.commit_offset/);
    }
  });

  test('bad roles, empty ids and duplicate ids are rejected', () => {
    for (const shards of [
      [{ id: 'a', role: 3 }],
      [{ id: 'a', role: { unknown: 'x', other: 'y' } }],
      [{ id: '', role: 'primary' }],
      [{ id: 'a', role: 'primary' }, { id: 'a', role: 'secondary' }],
    ]) {
      assert.equal(parseShards({ shards }).ok, false, JSON.stringify(shards));
    }
    const duplicate = parseShards({ shards: [{ id: 'a', role: 'primary' }, { id: 'a', role: 'secondary' }] });
    assert.match(!duplicate.ok ? duplicate.problem : '', /shards\[1\]\.id: shard id "a" listed twice/);
  });

  test('the list itself is required', () => {
    assert.equal(parseShards({}).ok, false);
    assert.equal(parseShards({ shards: null }).ok, false);
    assert.deepEqual(parseShards({ shards: [] }), { ok: true, value: [] });
  });
});
