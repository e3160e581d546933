import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, diff, eventCategoryByCode } from '../../src/domain/index.js';
import type { ClusterView, FleetEvent } from '../../src/domain/index.js';
import {
  agentDown,
  agentInfo,
  at,
  datastoreInfo,
  graceMs,
  node,
  nodeDown,
  nodeId,
  record,
  refresh,
  shard,
  shardsFailed,
  summary,
  up,
} from './domain-fixtures.js';

/** A healthy three-node replica set: node 1 primary of rs0, nodes 2 and 3 secondaries. */
function replicaSet(): ClusterView {
  return refresh(null, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(0)).view;
}

function only<E extends FleetEvent['event']>(events: FleetEvent[], code: E): Extract<FleetEvent, { event: E }> {
  const matching = events.filter((event): event is Extract<FleetEvent, { event: E }> => event.event === code);
  assert.equal(matching.length, 1, `expected exactly one ${code} in ${summary(events).join(', ')}`);
  return matching[0] as Extract<FleetEvent, { event: E }>;
}

describe('diff: first refresh of a new cluster', () => {
  it('announces every node, its info and shards, then the cluster status, with ids 0..n', () => {
    const { events } = refresh(null, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(0));
    assert.deepEqual(summary(events), [
      `AGENT_NEW ${node(1)}`,
      `AGENT_INFO_NEW ${node(1)}`,
      `NODE_NEW ${node(1)}`,
      `SHARD_ALLOCATION_NEW ${node(1)}`,
      `AGENT_NEW ${node(2)}`,
      `AGENT_INFO_NEW ${node(2)}`,
      `NODE_NEW ${node(2)}`,
      `SHARD_ALLOCATION_NEW ${node(2)}`,
      `AGENT_NEW ${node(3)}`,
      `AGENT_INFO_NEW ${node(3)}`,
      `NODE_NEW ${node(3)}`,
      `SHARD_ALLOCATION_NEW ${node(3)}`,
      'CLUSTER_STATUS_CHANGED',
    ]);
    events.forEach((event, index) => {
      assert.equal(event.id, `rs0/1/${index}`);
      assert.equal(event.generation, 1);
      assert.equal(event.cluster_id, 'rs0');
      assert.equal(event.timestamp, at(0));
      assert.equal(event.schema, 1);
      assert.equal(event.category, eventCategoryByCode[event.event]);
    });
    assert.deepEqual(events[0]?.payload, { address: node(1), status: { code: 'UP' } });
    assert.deepEqual(events[1]?.payload, { address: node(1), ...agentInfo() });
    assert.deepEqual(events[2]?.payload, { address: node(1), ...datastoreInfo(1) });
    assert.deepEqual(events[3]?.payload, { address: node(1), ...shard('rs0', 'primary') });
    assert.deepEqual(events.at(-1)?.payload, { before: null, after: 'HEALTHY' });
    assert.deepEqual(
      events.map((event) => event.node_id),
      [...Array<string>(4).fill(nodeId(1)), ...Array<string>(4).fill(nodeId(2)), ...Array<string>(4).fill(nodeId(3)), null],
    );
  });

  it('a node first seen down: AGENT_NEW plus its DOWN event, node_id null while the datastore never answered', () => {
    const { events } = refresh(null, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), agentDown(2), nodeDown(3)], at(0));
    assert.deepEqual(summary(events), [
      `AGENT_NEW ${node(1)}`,
      `AGENT_INFO_NEW ${node(1)}`,
      `NODE_NEW ${node(1)}`,
      `SHARD_ALLOCATION_NEW ${node(1)}`,
      `AGENT_NEW ${node(2)}`,
      `AGENT_DOWN ${node(2)}`,
      `AGENT_NEW ${node(3)}`,
      `AGENT_INFO_NEW ${node(3)}`,
      `NODE_DOWN ${node(3)}`,
      'CLUSTER_STATUS_CHANGED',
    ]);
    assert.deepEqual(
      events.slice(4, 9).map((event) => event.node_id),
      [null, null, null, null, null],
    );
    assert.deepEqual(only(events, 'AGENT_DOWN').payload, { address: node(2), before: null, after: { code: 'AGENT_DOWN', reason: 'connect ECONNREFUSED' } });
    assert.deepEqual(only(events, 'CLUSTER_STATUS_CHANGED').payload, { before: null, after: 'DEGRADED' });
  });

  it('a cluster whose nodes all fail is UNAVAILABLE from the start', () => {
    const { events } = refresh(null, record([1, 2]), [agentDown(1), nodeDown(2)], at(0));
    assert.deepEqual(only(events, 'CLUSTER_STATUS_CHANGED').payload, { before: null, after: 'UNAVAILABLE' });
  });
});

describe('diff: steady state', () => {
  it('the same observations again emit nothing', () => {
    const first = replicaSet();
    const { events } = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(events, []);
  });

  it('diff(v, v) is empty', () => {
    const view = replicaSet();
    assert.deepEqual(diff(view, view), []);
  });

  it('offset and lag changes update the view and emit nothing', () => {
    const first = replicaSet();
    const lag = { unit: 'seconds' as const, value: 7 };
    const { view, events } = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary', null, 2000)]), up(2, [shard('rs0', 'secondary', lag, 1993)]), up(3, [shard('rs0', 'secondary', null, 2000)])], at(1));
    assert.deepEqual(events, []);
    assert.deepEqual(view.members[1]?.shards, [shard('rs0', 'secondary', lag, 1993)]);
    assert.deepEqual(view.shards[0]?.max_lag, [lag]);
  });

  it('a failed shards call on an UP node emits nothing, not even a lost primary', () => {
    const first = replicaSet();
    const { view, events } = refresh(first, record([1, 2, 3]), [shardsFailed(1), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(events, []);
    assert.equal(view.shards[0]?.primary?.address, node(1));
  });

  it('the role text is case-insensitive on input', () => {
    const first = replicaSet();
    const shouting = up(1, [{ ...shard('rs0', 'primary'), role: 'PRIMARY' as unknown as 'primary' }]);
    const { events } = refresh(first, record([1, 2, 3]), [shouting, up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(events, []);
  });
});

describe('diff: a node going down and coming back', () => {
  it('NODE_DOWN keeps the node shards (no SHARD_ALLOCATION_REMOVED); NODE_UP brings no shard events', () => {
    const first = replicaSet();
    const down = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), nodeDown(3)], at(1));
    assert.deepEqual(summary(down.events), [`NODE_DOWN ${node(3)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(down.events, 'NODE_DOWN').payload, { address: node(3), before: { code: 'UP' }, after: { code: 'NODE_DOWN', reason: 'connection refused by mongod' } });
    assert.equal(only(down.events, 'NODE_DOWN').node_id, nodeId(3), 'node_id stays the last known one');
    assert.deepEqual(down.view.members[2]?.shards, [shard('rs0', 'secondary')]);

    const stillDown = refresh(down.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), nodeDown(3, 'timeout')], at(2));
    assert.deepEqual(stillDown.events, []);

    const back = refresh(stillDown.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary', null, 5000)])], at(3));
    assert.deepEqual(summary(back.events), [`NODE_UP ${node(3)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(back.events, 'CLUSTER_STATUS_CHANGED').payload, { before: 'DEGRADED', after: 'HEALTHY' });
  });

  it('an agent that goes away keeps its info; when it answers again only AGENT_UP is new', () => {
    const first = replicaSet();
    const gone = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), agentDown(2), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(summary(gone.events), [`AGENT_DOWN ${node(2)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(gone.view.members[1]?.agent, agentInfo());
    const back = refresh(gone.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(2));
    assert.deepEqual(summary(back.events), [`AGENT_UP ${node(2)}`, 'CLUSTER_STATUS_CHANGED']);
  });

  it('a node that comes back without a shard it had: NODE_UP then SHARD_ALLOCATION_REMOVED', () => {
    const first = replicaSet();
    const down = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), nodeDown(3)], at(1));
    const back = refresh(down.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [])], at(2));
    assert.deepEqual(summary(back.events), [`NODE_UP ${node(3)}`, `SHARD_ALLOCATION_REMOVED ${node(3)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(back.events, 'SHARD_ALLOCATION_REMOVED').payload, { address: node(3), ...shard('rs0', 'secondary') });
  });

  it('a node first seen NODE_DOWN gets NODE_NEW when its datastore first answers', () => {
    const first = refresh(null, record([1]), [nodeDown(1)], at(0));
    const { events } = refresh(first.view, record([1]), [up(1, [shard('rs0', 'primary')])], at(1));
    assert.deepEqual(summary(events), [`NODE_UP ${node(1)}`, `NODE_NEW ${node(1)}`, `SHARD_ALLOCATION_NEW ${node(1)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.ok(events.slice(0, 3).every((event) => event.node_id === nodeId(1)));
  });

  it('every node down makes the cluster UNAVAILABLE', () => {
    const first = replicaSet();
    const { events } = refresh(first, record([1, 2, 3]), [agentDown(1), nodeDown(2), agentDown(3)], at(1));
    assert.deepEqual(summary(events), [
      `AGENT_DOWN ${node(1)}`,
      `NODE_DOWN ${node(2)}`,
      `AGENT_DOWN ${node(3)}`,
      'SHARD_PRIMARY_LOST rs0',
      'CLUSTER_STATUS_CHANGED',
    ]);
    assert.deepEqual(only(events, 'CLUSTER_STATUS_CHANGED').payload, { before: 'HEALTHY', after: 'UNAVAILABLE' });
  });
});

describe('diff: info changes', () => {
  it('AGENT_INFO_CHANGED on an agent upgrade, also while its datastore is down', () => {
    const first = replicaSet();
    const upgraded = agentInfo('0.3.2');
    const { events } = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')], { agent: upgraded }), nodeDown(3, 'mongod stopped', upgraded)], at(1));
    assert.deepEqual(summary(events), [`AGENT_INFO_CHANGED ${node(2)}`, `AGENT_INFO_CHANGED ${node(3)}`, `NODE_DOWN ${node(3)}`, 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(events[0]?.payload, { address: node(2), before: agentInfo(), after: upgraded });
  });

  it('NODE_CHANGED on a datastore upgrade', () => {
    const first = replicaSet();
    const { events } = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')], { datastore: datastoreInfo(1, '7.0.2') }), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(summary(events), [`NODE_CHANGED ${node(1)}`]);
    assert.deepEqual(events[0]?.payload, { address: node(1), before: datastoreInfo(1), after: datastoreInfo(1, '7.0.2') });
  });

  it('the documented order within one node: agent status, agent info, node status, node info, shards', () => {
    const start = refresh(null, record([1, 2]), [agentDown(1), up(2, [shard('a', 'primary'), shard('b', 'secondary')])], at(0));
    const middle = refresh(start.view, record([1, 2]), [nodeDown(1), up(2, [shard('a', 'primary'), shard('b', 'secondary')])], at(1));
    const end = refresh(
      middle.view,
      record([1, 2]),
      [
        up(1, [shard('z', 'primary'), shard('c', 'primary'), shard('b', 'primary')], { agent: agentInfo('0.4.0') }),
        up(2, [shard('a', 'primary'), shard('z', { unknown: 'arbiter' })]),
      ],
      at(2),
    );
    assert.deepEqual(summary(end.events), [
      `AGENT_INFO_CHANGED ${node(1)}`,
      `NODE_UP ${node(1)}`,
      `NODE_NEW ${node(1)}`,
      `SHARD_ALLOCATION_NEW ${node(1)}`,
      `SHARD_ALLOCATION_NEW ${node(1)}`,
      `SHARD_ALLOCATION_NEW ${node(1)}`,
      `SHARD_ALLOCATION_REMOVED ${node(2)}`,
      `SHARD_ALLOCATION_NEW ${node(2)}`,
      'SHARD_PRIMARY_CHANGED b',
      'CLUSTER_STATUS_CHANGED',
    ]);
    assert.deepEqual(
      end.events.slice(3, 8).map((event) => (event.payload as { id: string }).id),
      ['b', 'c', 'z', 'b', 'z'],
    );
    assert.deepEqual(end.events.map((event) => event.id), end.events.map((_, index) => `rs0/3/${index}`));
    // AGENT_DOWN -> NODE_DOWN: the agent answers for the first time, the datastore does not.
    assert.deepEqual(summary(middle.events), [`AGENT_INFO_NEW ${node(1)}`, `NODE_DOWN ${node(1)}`]);
  });
});

describe('diff: primaries', () => {
  it('failover in one refresh: NODE_DOWN, the promotion, SHARD_PRIMARY_CHANGED, DEGRADED', () => {
    const first = replicaSet();
    const failover = refresh(first, record([1, 2, 3]), [nodeDown(1), up(2, [shard('rs0', 'primary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(summary(failover.events), [`NODE_DOWN ${node(1)}`, `SHARD_ALLOCATION_CHANGED ${node(2)}`, 'SHARD_PRIMARY_CHANGED rs0', 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(failover.events, 'SHARD_ALLOCATION_CHANGED').payload, { address: node(2), before: shard('rs0', 'secondary'), after: shard('rs0', 'primary') });
    assert.deepEqual(only(failover.events, 'SHARD_PRIMARY_CHANGED').payload, {
      shard_id: 'rs0',
      before: [{ address: node(1), node_id: nodeId(1) }],
      after: [{ address: node(2), node_id: nodeId(2) }],
    });

    // The old primary returns as a secondary: its own role change, no primary event.
    const rejoined = refresh(failover.view, record([1, 2, 3]), [up(1, [shard('rs0', 'secondary')]), up(2, [shard('rs0', 'primary')]), up(3, [shard('rs0', 'secondary')])], at(2));
    assert.deepEqual(summary(rejoined.events), [`NODE_UP ${node(1)}`, `SHARD_ALLOCATION_CHANGED ${node(1)}`, 'CLUSTER_STATUS_CHANGED']);
  });

  it('failover over two refreshes: SHARD_PRIMARY_LOST, then SHARD_PRIMARY_CHANGED from nobody', () => {
    const first = replicaSet();
    const lost = refresh(first, record([1, 2, 3]), [agentDown(1), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(summary(lost.events), [`AGENT_DOWN ${node(1)}`, 'SHARD_PRIMARY_LOST rs0', 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(lost.events, 'SHARD_PRIMARY_LOST').payload, { shard_id: 'rs0', before: [{ address: node(1), node_id: nodeId(1) }], after: [] });
    assert.equal(lost.view.shards[0]?.primary, null);

    const elected = refresh(lost.view, record([1, 2, 3]), [agentDown(1), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'primary')])], at(2));
    assert.deepEqual(summary(elected.events), [`SHARD_ALLOCATION_CHANGED ${node(3)}`, 'SHARD_PRIMARY_CHANGED rs0']);
    assert.deepEqual(only(elected.events, 'SHARD_PRIMARY_CHANGED').payload, { shard_id: 'rs0', before: [], after: [{ address: node(3), node_id: nodeId(3) }] });
  });

  it('split brain: SHARD_PRIMARY_CONFLICT once per new set of primaries, CHANGED when one remains', () => {
    const first = replicaSet();
    const brain = [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'primary')]), up(3, [shard('rs0', 'secondary')])];
    const split = refresh(first, record([1, 2, 3]), brain, at(1));
    assert.deepEqual(summary(split.events), [`SHARD_ALLOCATION_CHANGED ${node(2)}`, 'SHARD_PRIMARY_CONFLICT rs0', 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(split.events, 'SHARD_PRIMARY_CONFLICT').payload, {
      shard_id: 'rs0',
      before: [{ address: node(1), node_id: nodeId(1) }],
      after: [
        { address: node(1), node_id: nodeId(1) },
        { address: node(2), node_id: nodeId(2) },
      ],
    });
    assert.equal(split.view.status, 'DEGRADED');
    assert.equal(split.view.shards_primaries, 0);
    assert.equal(split.view.shards[0]?.primary, null);

    const persists = refresh(split.view, record([1, 2, 3]), brain, at(2));
    assert.deepEqual(persists.events, []);

    const worse = refresh(persists.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'primary')]), up(3, [shard('rs0', 'primary')])], at(3));
    assert.deepEqual(summary(worse.events), [`SHARD_ALLOCATION_CHANGED ${node(3)}`, 'SHARD_PRIMARY_CONFLICT rs0']);

    const healed = refresh(worse.view, record([1, 2, 3]), [up(1, [shard('rs0', 'secondary')]), up(2, [shard('rs0', 'primary')]), up(3, [shard('rs0', 'secondary')])], at(4));
    assert.deepEqual(summary(healed.events), [`SHARD_ALLOCATION_CHANGED ${node(1)}`, `SHARD_ALLOCATION_CHANGED ${node(3)}`, 'SHARD_PRIMARY_CHANGED rs0', 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(healed.events, 'CLUSTER_STATUS_CHANGED').payload, { before: 'DEGRADED', after: 'HEALTHY' });
  });

  it('a split brain seen on the first refresh is reported', () => {
    const { events } = refresh(null, record([1, 2]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'primary')])], at(0));
    assert.deepEqual(summary(events).slice(-2), ['SHARD_PRIMARY_CONFLICT rs0', 'CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(events, 'SHARD_PRIMARY_CONFLICT').payload.before, []);
  });

  it('a primary that another node claims is down does not change: only a node report counts', () => {
    // Node 2 reporting its own role says nothing about node 1; node 1 stays UP and primary.
    const first = replicaSet();
    const { view, events } = refresh(first, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', { unknown: 'recovering' })]), up(3, [shard('rs0', 'secondary')])], at(1));
    assert.deepEqual(summary(events), [`SHARD_ALLOCATION_CHANGED ${node(2)}`]);
    assert.equal(view.members[0]?.status.code, 'UP');
  });
});

describe('diff: nodes leaving discovery', () => {
  const three = [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'secondary')])];
  const two = three.slice(0, 2);

  it('returning within the grace period: no event, a normal node again', () => {
    const first = replicaSet();
    const left = refresh(first, record([1, 2]), two, at(1));
    assert.deepEqual(left.events, []);
    assert.equal(left.view.members[2]?.left_discovery_at, at(1));
    const stillGone = refresh(left.view, record([1, 2]), two, at(1 + graceMs / 60_000 - 1));
    assert.deepEqual(stillGone.events, []);
    assert.equal(stillGone.view.members[2]?.left_discovery_at, at(1), 'the time it left is kept');
    const returned = refresh(stillGone.view, record([1, 2, 3]), three, at(1 + graceMs / 60_000 - 0.5));
    assert.deepEqual(returned.events, []);
    assert.equal(returned.view.members[2]?.left_discovery_at, null);
    assert.equal(returned.view.nodes, 3);
  });

  it('gone for the whole grace period: NODE_RETIRED; listed again later it is a new agent', () => {
    const first = replicaSet();
    const left = refresh(first, record([1, 2]), two, at(1));
    const retired = refresh(left.view, record([1, 2]), two, at(1 + graceMs / 60_000));
    assert.deepEqual(summary(retired.events), [`NODE_RETIRED ${node(3)}`]);
    const event = only(retired.events, 'NODE_RETIRED');
    assert.equal(event.node_id, nodeId(3));
    assert.deepEqual(event.payload, { address: node(3), left_discovery_at: at(1), last_status: { code: 'UP' } });
    assert.equal(retired.view.members.length, 2);

    const again = refresh(retired.view, record([1, 2, 3]), three, at(20));
    assert.deepEqual(summary(again.events), [`AGENT_NEW ${node(3)}`, `AGENT_INFO_NEW ${node(3)}`, `NODE_NEW ${node(3)}`, `SHARD_ALLOCATION_NEW ${node(3)}`]);
  });

  it('a zero grace period retires a node in the refresh that notices it left', () => {
    const first = replicaSet();
    const { events } = refresh(first, record([1, 2]), two, at(1), 0);
    assert.deepEqual(summary(events), [`NODE_RETIRED ${node(3)}`]);
    assert.equal(only(events, 'NODE_RETIRED').payload.left_discovery_at, at(1));
  });

  it('a down node that leaves discovery no longer degrades the cluster', () => {
    const first = replicaSet();
    const down = refresh(first, record([1, 2, 3]), [...two, nodeDown(3)], at(1));
    const left = refresh(down.view, record([1, 2]), two, at(2));
    assert.deepEqual(summary(left.events), ['CLUSTER_STATUS_CHANGED']);
    assert.deepEqual(only(left.events, 'CLUSTER_STATUS_CHANGED').payload, { before: 'DEGRADED', after: 'HEALTHY' });
  });

  it('the primary leaving discovery is no longer watched: its shard loses its primary', () => {
    const first = replicaSet();
    const { events } = refresh(first, record([2, 3]), three.slice(1), at(1));
    assert.deepEqual(summary(events), ['SHARD_PRIMARY_LOST rs0', 'CLUSTER_STATUS_CHANGED']);
  });
});

describe('diff: guards', () => {
  it('refuses views of different clusters', () => {
    const view = replicaSet();
    assert.throws(() => diff(view, { ...view, cluster_id: 'other', generation: 2 }), /different clusters/);
  });

  it('refuses a generation that goes back', () => {
    const view = replicaSet();
    assert.throws(() => diff({ ...view, generation: 5 }, view), /generation went back/);
  });

  it('refuses two different views under one generation (their event ids would collide)', () => {
    const first = replicaSet();
    const next = aggregate(first, record([1, 2, 3]), [nodeDown(1)], at(1), { nodeRetireGraceMs: graceMs });
    assert.throws(() => diff(first, { ...next, generation: first.generation }), /differ/);
  });
});
