import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, defaultNodeRetireGraceMs } from '../../src/domain/index.js';
import type { ClusterView, DiscoveryRecord, NodeObservation } from '../../src/domain/index.js';
import {
  agentDown,
  agentInfo,
  at,
  clusterId,
  datastoreInfo,
  graceMs,
  node,
  nodeDown,
  nodeId,
  record,
  shard,
  shardsFailed,
  up,
} from './domain-fixtures.js';

const options = { nodeRetireGraceMs: graceMs };

function run(steps: Array<{ record?: DiscoveryRecord; observations: NodeObservation[] }>): ClusterView {
  let view: ClusterView | null = null;
  steps.forEach((step, minute) => {
    view = aggregate(view, step.record ?? record([1, 2, 3]), step.observations, at(minute), options);
  });
  assert.ok(view !== null);
  return view;
}

describe('aggregate: cluster fields', () => {
  it('counts, kinds, shards and status of a mixed cluster', () => {
    const secondsLag = (value: number) => ({ unit: 'seconds' as const, value });
    const opsLag = (value: number) => ({ unit: { unit: 'ops' }, value });
    const view = aggregate(
      null,
      record([1, 2, 3, 4, 5]),
      [
        up(1, [shard('rs0', 'primary'), shard('cfg', 'secondary', opsLag(2))]),
        up(2, [shard('rs0', 'secondary', secondsLag(4)), shard('cfg', 'primary')], {
          datastore: { ...datastoreInfo(2), kind: 'mongos' },
        }),
        up(3, [shard('rs0', 'secondary', secondsLag(9)), shard('cfg', 'secondary', opsLag(5)), shard('logs', 'secondary')]),
        nodeDown(4),
        agentDown(5),
      ],
      at(0),
      options,
    );
    assert.equal(view.cluster_id, clusterId);
    assert.equal(view.display_name, 'Orders');
    assert.equal(view.generation, 1);
    assert.equal(view.refreshed_at, at(0));
    assert.deepEqual(view.kinds, ['mongodb', 'mongos']);
    assert.equal(view.nodes, 5);
    assert.equal(view.agents_down, 1);
    assert.equal(view.nodes_down, 1);
    assert.equal(view.shards_count, 3);
    assert.equal(view.shards_primaries, 2);
    assert.equal(view.status, 'DEGRADED');
    assert.deepEqual(view.shards, [
      {
        id: 'cfg',
        allocations: 3,
        primaries: [{ address: node(2), node_id: nodeId(2) }],
        primary: { address: node(2), node_id: nodeId(2) },
        max_lag: [opsLag(5)],
      },
      { id: 'logs', allocations: 1, primaries: [], primary: null, max_lag: [] },
      {
        id: 'rs0',
        allocations: 3,
        primaries: [{ address: node(1), node_id: nodeId(1) }],
        primary: { address: node(1), node_id: nodeId(1) },
        max_lag: [secondsLag(9)],
      },
    ]);
  });

  it('keeps one max lag per unit, seconds first, from UP nodes only', () => {
    const first = aggregate(
      null,
      record([1, 2, 3]),
      [
        up(1, [shard('s', 'primary', { unit: { unit: 'ops' }, value: 3 })]),
        up(2, [shard('s', 'secondary', { unit: 'seconds', value: 8 })]),
        up(3, [shard('s', 'secondary', { unit: 'seconds', value: 90 })]),
      ],
      at(0),
      options,
    );
    assert.deepEqual(first.shards[0]?.max_lag, [
      { unit: 'seconds', value: 90 },
      { unit: { unit: 'ops' }, value: 3 },
    ]);
    const later = aggregate(first, record([1, 2, 3]), [up(1, [shard('s', 'primary')]), up(2, [shard('s', 'secondary', { unit: 'seconds', value: 8 })]), nodeDown(3)], at(1), options);
    assert.deepEqual(later.shards[0]?.max_lag, [{ unit: 'seconds', value: 8 }], 'a down node lag is stale');
    assert.equal(later.shards[0]?.allocations, 3, 'a down node still holds its last known shards');
  });

  it('derives HEALTHY, DEGRADED (a node down, a shard without a primary) and UNAVAILABLE', () => {
    const status = (observations: NodeObservation[], nodes = [1, 2]) => aggregate(null, record(nodes), observations, at(0), options).status;
    assert.equal(status([up(1, [shard('s', 'primary')]), up(2, [shard('s', 'secondary')])]), 'HEALTHY');
    assert.equal(status([up(1), up(2)]), 'HEALTHY', 'no shards at all is healthy');
    assert.equal(status([up(1, [shard('s', 'primary')]), nodeDown(2)]), 'DEGRADED');
    assert.equal(status([up(1, [shard('s', 'primary')]), agentDown(2)]), 'DEGRADED');
    assert.equal(status([up(1, [shard('s', 'secondary')]), up(2, [shard('s', 'secondary')])]), 'DEGRADED');
    assert.equal(status([up(1, [shard('s', 'primary')]), up(2, [shard('s', 'primary')])]), 'DEGRADED');
    assert.equal(status([nodeDown(1), agentDown(2)]), 'UNAVAILABLE');
    assert.equal(status([], []), 'UNAVAILABLE', 'no nodes at all');
  });

  it('takes the display name from discovery, else from the first datastore that names the cluster', () => {
    const named = { ...datastoreInfo(2), cluster_display_name: 'From mongo-2' };
    assert.equal(aggregate(null, record([1, 2], null), [up(1), up(2, [], { datastore: named })], at(0), options).display_name, 'From mongo-2');
    assert.equal(aggregate(null, record([1, 2], 'Orders'), [up(1), up(2, [], { datastore: named })], at(0), options).display_name, 'Orders');
    assert.equal(aggregate(null, record([1], null), [up(1)], at(0), options).display_name, null);
  });

  it('counts generations from 1, one per refresh', () => {
    let view: ClusterView | null = null;
    for (let minute = 0; minute < 4; minute += 1) {
      view = aggregate(view, record([1]), [up(1)], at(minute), options);
      assert.equal(view.generation, minute + 1);
    }
  });

  it('grace period default: two discovery intervals', () => {
    assert.equal(defaultNodeRetireGraceMs(30), 60_000);
  });
});

describe('aggregate: nodes', () => {
  it('tracks last error, last successful refresh and first seen per node', () => {
    const view = run([
      { observations: [up(1), up(2), up(3)] },
      { observations: [up(1), nodeDown(2, 'mongod gone'), shardsFailed(3, 'HTTP 503')] },
      { observations: [up(1), up(2), up(3)] },
    ]);
    const [one, two, three] = view.members;
    assert.deepEqual(one?.last_error, null);
    assert.equal(one?.last_successful_refresh_at, at(2));
    assert.deepEqual(two?.last_error, { message: 'mongod gone', at: at(1) }, 'kept after recovery');
    assert.equal(two?.last_successful_refresh_at, at(2));
    assert.equal(two?.first_seen_at, at(0));
    assert.deepEqual(three?.last_error, { message: 'shards call failed: HTTP 503', at: at(1) });
    assert.equal(three?.shards_error, null, 'cleared once the shards call works again');
  });

  it('a down node keeps its last known agent info, datastore info and shards', () => {
    const view = run([
      { observations: [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3)] },
      { observations: [up(1, [shard('rs0', 'primary')]), agentDown(2), nodeDown(3)] },
    ]);
    const [, two, three] = view.members;
    assert.deepEqual(two?.status, { code: 'AGENT_DOWN', reason: 'connect ECONNREFUSED' });
    assert.deepEqual(two?.agent, agentInfo());
    assert.deepEqual(two?.datastore, datastoreInfo(2));
    assert.deepEqual(two?.shards, [shard('rs0', 'secondary')]);
    assert.equal(two?.node_id, nodeId(2));
    assert.deepEqual(three?.datastore, datastoreInfo(3));
    assert.equal(two?.last_successful_refresh_at, at(0));
  });

  it('a failed shards call keeps the last known shards and records the failure', () => {
    const view = run([{ observations: [up(1, [shard('rs0', 'primary')])] }, { observations: [shardsFailed(1)] }]);
    assert.deepEqual(view.members[0]?.shards, [shard('rs0', 'primary')]);
    assert.equal(view.members[0]?.shards_error, 'HTTP 500: not master');
    assert.equal(view.members[0]?.status.code, 'UP');
  });

  it('shards are null until a node has reported them once', () => {
    const view = run([{ observations: [shardsFailed(1), nodeDown(2), up(3, [])] }]);
    assert.deepEqual(
      view.members.map((member) => member.shards),
      [null, null, []],
    );
  });

  it('datastore info from a NODE_DOWN report (e.g. a foreign cluster id) is not taken', () => {
    const foreign: NodeObservation = {
      ...nodeDown(1, 'datastore reports cluster id other, expected rs0'),
      datastore: { ...datastoreInfo(1), cluster_id: 'other' },
    };
    const view = run([{ record: record([1]), observations: [up(1)] }, { record: record([1]), observations: [foreign] }]);
    assert.deepEqual(view.members[0]?.datastore, datastoreInfo(1));
  });

  it('only the node own report changes it: a listed node without an observation is left as it was', () => {
    const first = aggregate(null, record([1, 2]), [up(1), nodeDown(2)], at(0), options);
    const next = aggregate(first, record([1, 2, 3]), [up(1)], at(1), options);
    assert.deepEqual(next.members[1], first.members[1]);
    assert.equal(next.members.length, 2, 'node 3 is added once it has been observed');
  });

  it('ignores observations of addresses discovery does not list', () => {
    const view = aggregate(null, record([1]), [up(1), up(9)], at(0), options);
    assert.deepEqual(
      view.members.map((member) => member.address),
      [node(1)],
    );
  });

  it('normalizes addresses, merges repeated record entries, keeps discovery hints', () => {
    const discovery: DiscoveryRecord = {
      cluster_id: clusterId,
      display_name: null,
      nodes: [
        { agent_address: `${node(1)}/`, node_id: 'm1', node_class: 'mongodb', node_group: 'az1' },
        { agent_address: node(1), node_id: 'ignored' },
      ],
    };
    const view = aggregate(null, discovery, [{ ...up(1), address: `${node(1)}//` }], at(0), options);
    assert.equal(view.members.length, 1);
    assert.equal(view.members[0]?.address, node(1));
    assert.deepEqual(view.members[0]?.discovered, { node_id: 'm1', node_class: 'mongodb', node_group: 'az1' });
    assert.equal(view.members[0]?.status.code, 'UP');
  });

  it('a shard reported twice by one node keeps its first entry', () => {
    const view = aggregate(null, record([1]), [up(1, [shard('s', 'primary'), shard('s', 'secondary')])], at(0), options);
    assert.deepEqual(view.members[0]?.shards, [shard('s', 'primary')]);
  });

  it('a leaving node is kept with the time it left, out of counts and shards, until retired', () => {
    const first = aggregate(null, record([1, 2]), [up(1, [shard('a', 'primary')]), up(2, [shard('b', 'primary')])], at(0), options);
    const leaving = aggregate(first, record([1]), [up(1, [shard('a', 'primary')])], at(1), options);
    assert.equal(leaving.members[1]?.left_discovery_at, at(1));
    assert.equal(leaving.nodes, 1);
    assert.deepEqual(
      leaving.shards.map((summary) => summary.id),
      ['a'],
    );
    const retired = aggregate(leaving, record([1]), [up(1, [shard('a', 'primary')])], at(1 + graceMs / 60_000), options);
    assert.equal(retired.members.length, 1);
  });
});

describe('aggregate: plain, deterministic JSON', () => {
  const messy: NodeObservation[] = [
    up(3, [shard('$set', 'secondary'), shard('a.b', 'primary')]),
    nodeDown(2),
    up(1, [shard('a.b', 'secondary'), shard('$set', 'primary')]),
  ];

  it('does not depend on the order of observations or record nodes', () => {
    const forward = aggregate(null, record([1, 2, 3]), messy, at(0), options);
    const backward = aggregate(null, record([3, 2, 1]), [...messy].reverse(), at(0), options);
    assert.equal(JSON.stringify(backward), JSON.stringify(forward));
  });

  it('survives a JSON round trip unchanged, and takes no object key from outside input', () => {
    const view = aggregate(null, record([1, 2, 3]), messy, at(0), options);
    assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
    const keys = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          keys.add(key);
          walk(child);
        }
      }
    };
    walk(view);
    for (const key of keys) assert.match(key, /^[a-z_]+$/, `unexpected key ${key}`);
  });

  it('shares no object with its inputs', () => {
    const observations = [up(1, [shard('s', 'primary')])];
    const view = aggregate(null, record([1]), observations, at(0), options);
    const before = JSON.stringify(view);
    const observed = observations[0];
    assert.ok(observed?.shards && observed.agent && observed.datastore);
    observed.agent.version.number = '9.9.9';
    observed.datastore.version = '9.9.9';
    (observed.shards[0] as { role: string }).role = 'secondary';
    assert.equal(JSON.stringify(view), before);
  });

  it('refuses a record of another cluster and a timestamp that is not ISO 8601', () => {
    const view = aggregate(null, record([1]), [up(1)], at(0), options);
    assert.throws(() => aggregate(view, { ...record([1]), cluster_id: 'other' }, [up(1)], at(1), options), /cluster other/);
    assert.throws(() => aggregate(null, record([1]), [up(1)], 'yesterday', options), /ISO 8601/);
  });
});
