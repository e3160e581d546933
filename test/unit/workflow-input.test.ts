import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError, parseClusterRefreshInput, parseDiscoveryRecord, refreshNowArgumentsProblem, retireReason } from '../../src/workflows/input.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidInputError);
    return err.problems;
  }
  assert.fail('expected InvalidInputError');
}

describe('clusterRefresh input', () => {
  it('accepts URL strings and node objects, normalized and sorted, with default settings', () => {
    const { record, settings } = parseClusterRefreshInput({
      cluster_id: 'rs0',
      display_name: 'Orders',
      nodes: ['http://h:1/c/rs0/n/n2/', { agent_address: 'http://h:1/c/rs0/n/n1', node_id: 'n1:27017', node_group: 'az1' }],
    });
    assert.deepEqual(record, {
      cluster_id: 'rs0',
      display_name: 'Orders',
      nodes: [{ agent_address: 'http://h:1/c/rs0/n/n1', node_id: 'n1:27017', node_group: 'az1' }, { agent_address: 'http://h:1/c/rs0/n/n2' }],
    });
    assert.deepEqual(settings, { refresh_interval_s: 15, agent_timeout_ms: null, node_retire_grace_s: 30, max_refreshes_per_run: 20, store_touch_s: 300, cluster_retire_grace_s: null });
  });

  it('takes settings and rejects out-of-range ones by name', () => {
    const { settings } = parseClusterRefreshInput({ cluster_id: 'rs0', nodes: [], refresh_interval_s: 2, agent_timeout_ms: 900 });
    assert.equal(settings.refresh_interval_s, 2);
    assert.equal(settings.agent_timeout_ms, 900);
    const found = problems(() => parseClusterRefreshInput({ cluster_id: 'rs0', nodes: [], refresh_interval_s: 0, max_refreshes_per_run: 1.5 }));
    assert.deepEqual(found, ['refresh_interval_s must be an integer from 1 to 86400, got 0', 'max_refreshes_per_run must be an integer from 1 to 100000, got 1.5']);
  });

  it('names every problem of a bad record, with its place', () => {
    const found = problems(() => parseDiscoveryRecord({ cluster_id: 'rs/0', nodes: ['ftp://x', 42, { agent_address: 'http://ok', node_id: 'bad id' }] }));
    assert.equal(found.length, 4);
    assert.match(found[0]!, /invalid cluster id "rs\/0"/);
    assert.match(found[1]!, /^nodes\[0\]: .*expected http:\/\/ or https:\/\//);
    assert.match(found[2]!, /^nodes\[1\]: expected an agent URL or a node object, got a number/);
    assert.match(found[3]!, /^nodes\[2\]: invalid node id "bad id"/);
  });

  it('rejects what is not a record at all', () => {
    assert.deepEqual(problems(() => parseDiscoveryRecord('rs0')), ['the input must be a JSON object with cluster_id and nodes, got a string']);
    assert.match(problems(() => parseDiscoveryRecord({ cluster_id: 'rs0' }))[0]!, /nodes must be a list/);
  });
});

describe('what the nodes signal and refreshNow update accept', () => {
  it('refuses labels with control characters or mangled bytes, as discovery does', () => {
    const url = 'http://h:1/c/rs0/n/n1';
    assert.match(problems(() => parseDiscoveryRecord({ cluster_id: 'rs0', display_name: 'x\u001b[2J', nodes: [url] }))[0]!, /^display_name must be a string of at most 256 printable characters, got "x\\u001b\[2J" with a control character U\+001B at index 1$/);
    assert.match(problems(() => parseDiscoveryRecord({ cluster_id: 'rs0', display_name: 'caf\ufffd', nodes: [url] }))[0]!, /U\+FFFD at index 3 \(the text was not valid UTF-8\)/);
    assert.match(problems(() => parseDiscoveryRecord({ cluster_id: 'rs0', nodes: [{ agent_address: url, node_class: 'a\u001b' }] }))[0]!, /^nodes\[0\]: node_class must be/);
    assert.match(problems(() => parseDiscoveryRecord({ cluster_id: 'rs0', nodes: ['http://h/\u001b[2J'] }))[0]!, /^nodes\[0\]: invalid agent address .*control character U\+001B/);
    assert.equal(parseDiscoveryRecord({ cluster_id: 'rs0', display_name: '', nodes: [] }).display_name, '');
  });

  it('says what a setting got, cut', () => {
    assert.deepEqual(problems(() => parseSettingsOf({ refresh_interval_s: 'x'.repeat(10_000) })), [`refresh_interval_s must be an integer from 1 to 86400, got "${'x'.repeat(57)}..."`]);
  });

  it('refreshNow takes no arguments or {actor} (a lone null or {} reads as none)', () => {
    for (const args of [[], [null], [{}], [{ actor: { user: 'alice' } }]]) assert.equal(refreshNowArgumentsProblem(args), null, JSON.stringify(args));
    assert.equal(refreshNowArgumentsProblem([{ $gt: '' }]), 'refreshNow takes no arguments or {actor}, got {"$gt":""}');
    assert.equal(refreshNowArgumentsProblem(['\u001b[2J']), 'refreshNow takes no arguments or {actor}, got "\\u001b[2J"');
    assert.equal(refreshNowArgumentsProblem([1, 2]), 'refreshNow takes no arguments or {actor}, got 2: 1, 2');
    assert.match(refreshNowArgumentsProblem([{ actor: { user: '' } }]) ?? '', /^refreshNow: actor\.user must be a non-empty string/);
    assert.ok((refreshNowArgumentsProblem(['a'.repeat(10_000)]) ?? '').length < 120, 'a 10 KB argument is cut');
  });

  it('keeps a retire reason to one printable line of at most 200 characters', () => {
    assert.equal(retireReason({ reason: 'no discovery lists it' }), 'no discovery lists it');
    assert.equal(retireReason({ reason: `\u001b[2J${'r'.repeat(10_000)}` }), `\\u001b[2J${'r'.repeat(188)}...`);
    for (const request of [undefined, null, {}, { reason: 42 }, { reason: ' ' }]) assert.equal(retireReason(request), 'retired');
  });
});

function parseSettingsOf(settings: Record<string, unknown>): unknown {
  return parseClusterRefreshInput({ cluster_id: 'rs0', nodes: [], ...settings });
}

