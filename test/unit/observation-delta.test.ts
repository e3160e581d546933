import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createObservationCache, fullObservationMaxEntries, observationFingerprint, observeChangesActivity } from '../../src/activities/observe-changes.js';
import type { ObserveClusterInput } from '../../src/activities/observe-cluster.js';
import { aggregate, diff } from '../../src/domain/index.js';
import type { ClusterView, FleetEvent, NodeObservation, Shard } from '../../src/domain/index.js';
import { materialViewKey, sameMaterialView } from '../../src/domain/material-view.js';
import { applyObservationDelta, type ObservationDelta } from '../../src/domain/observation-delta.js';
import { agentDown, at, clusterId, graceMs, node, nodeDown, record, refresh, shard, up } from './domain-fixtures.js';

const nodes = [1, 2, 3, 4, 5];
const shardsPerNode = 20;
const addresses = nodes.map(node);

/** A little PRNG so a failing round can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface NodeState {
  down: 'no' | 'agent' | 'node';
  reason: string;
  primaries: Set<number>;
  offsets: number;
}

function observe(n: number, state: NodeState): NodeObservation {
  if (state.down === 'agent') return agentDown(n, state.reason);
  if (state.down === 'node') return nodeDown(n, state.reason);
  const shards: Shard[] = [];
  for (let s = 0; s < shardsPerNode; s++) shards.push(shard(`p${s}`, state.primaries.has(s) ? 'primary' : 'secondary', { unit: 'seconds', value: state.offsets % 7 }, state.offsets + s));
  return up(n, shards);
}

/** The events without their measurements (offsets and lag), which deltas deliver only with a change. */
function material(events: FleetEvent[]): string {
  return JSON.stringify(events, (key, value: unknown) => (key === 'commit_offset' || key === 'lag' || key === 'max_lag' ? null : value));
}

/** The workflow's side: hold observations, apply each delta, fall back to a full one. */
function workflowSide(observeChanges: (input: ObserveClusterInput & { base_token: string | null }) => Promise<ObservationDelta>) {
  let held = new Map<string, NodeObservation>();
  let token: string | null = null;
  return async () => {
    const request = { cluster_id: clusterId, addresses, timeout_ms: null };
    const delta = await observeChanges({ ...request, base_token: token });
    const applied = applyObservationDelta(held, token, addresses, delta);
    assert.ok(applied, 'a delta from the same cache applies');
    const changed = new Set(delta.changed.map((observation) => observation.address));
    const unchanged = new Set(delta.base_token === null ? [] : [...applied.held.keys()].filter((address) => !changed.has(address)));
    held = applied.held;
    token = delta.token;
    return { observations: applied.observations, delta, unchanged };
  };
}

describe('observation deltas', () => {
  it('give the same events as full observations, over random rounds, and nothing on measurement-only rounds', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const next = random(seed);
      const states = new Map<number, NodeState>(nodes.map((n) => [n, { down: 'no', reason: 'x', primaries: new Set(n === 1 ? [0, 1, 2] : []), offsets: 0 }]));
      let current: NodeObservation[] = [];
      const activity = observeChangesActivity(() => Promise.resolve(current), createObservationCache());
      const observeByDelta = workflowSide(activity);
      let fullView: ClusterView | null = null;
      let deltaView: ClusterView | null = null;
      let deltasChecked = 0;
      let carriedOverRounds = 0;
      for (let round = 0; round < 40; round++) {
        const measurementOnly = next() < 0.5;
        for (const state of states.values()) {
          state.offsets += 1 + Math.floor(next() * 100);
          if (measurementOnly) continue;
          const roll = next();
          if (roll < 0.1) state.down = state.down === 'no' ? (next() < 0.5 ? 'agent' : 'node') : 'no';
          else if (roll < 0.2) state.reason = `reason ${Math.floor(next() * 3)}`;
          else if (roll < 0.4) state.primaries = new Set([Math.floor(next() * shardsPerNode)]);
        }
        current = nodes.map((n) => observe(n, states.get(n)!));
        const { observations, delta, unchanged } = await observeByDelta();
        const full = refresh(fullView, record(nodes), current, at(round));
        const byDelta = refresh(deltaView, record(nodes), observations, at(round));
        // Carrying unchanged nodes over (the workflow's shortcut) builds the very same view and events.
        const carried = aggregate(deltaView, record(nodes), observations, at(round), { nodeRetireGraceMs: graceMs, unchanged });
        assert.equal(JSON.stringify(carried), JSON.stringify(byDelta.view), `seed ${seed} round ${round}: carried over = rebuilt`);
        assert.equal(JSON.stringify(diff(deltaView, carried)), JSON.stringify(byDelta.events));
        if (deltaView) {
          assert.equal(sameMaterialView(deltaView, carried), materialViewKey(deltaView) === materialViewKey(carried), `seed ${seed} round ${round}: material comparison`);
          assert.equal(sameMaterialView(fullView!, full.view), materialViewKey(fullView!) === materialViewKey(full.view));
        }
        carriedOverRounds += unchanged.size > 0 ? 1 : 0;
        assert.equal(material(byDelta.events), material(full.events), `seed ${seed} round ${round}: the same events`);
        // (A round where most nodes are down is small enough to go in full.)
        if (measurementOnly && round > 0 && delta.base_token !== null) assert.equal(delta.changed.length, 0, `seed ${seed} round ${round}: a measurement-only round carries no node`);
        if (measurementOnly) deltasChecked += delta.base_token !== null ? 1 : 0;
        fullView = full.view;
        deltaView = byDelta.view;
      }
      assert.ok(carriedOverRounds >= 5, `seed ${seed}: rounds with nodes carried over (${carriedOverRounds})`);
      assert.ok(deltasChecked >= 5, `seed ${seed}: measurement-only rounds were answered by deltas (${deltasChecked})`);
    }
  });

  it('answers a token it does not know (another worker, a restart) with a full observation', async () => {
    const observations = nodes.map((n) => observe(n, { down: 'no', reason: '', primaries: new Set([n]), offsets: 5 }));
    const first = await observeChangesActivity(() => Promise.resolve(observations), createObservationCache())({ cluster_id: clusterId, addresses, timeout_ms: null, base_token: null });
    const elsewhere = await observeChangesActivity(() => Promise.resolve(observations), createObservationCache())({ cluster_id: clusterId, addresses, timeout_ms: null, base_token: first.token });
    assert.equal(elsewhere.base_token, null);
    assert.equal(elsewhere.changed.length, nodes.length);
    assert.equal(elsewhere.token, first.token, 'the token names the content, whichever worker computed it');
  });

  it('keeps the previous state too, for a workflow task retried with the same base', async () => {
    let offsets = 0;
    const activity = observeChangesActivity(() => Promise.resolve(nodes.map((n) => observe(n, { down: 'no', reason: '', primaries: new Set([n]), offsets: (offsets += 10) }))), createObservationCache());
    const base = await activity({ cluster_id: clusterId, addresses, timeout_ms: null, base_token: null });
    const attempt1 = await activity({ cluster_id: clusterId, addresses, timeout_ms: null, base_token: base.token });
    const attempt2 = await activity({ cluster_id: clusterId, addresses, timeout_ms: null, base_token: base.token });
    assert.equal(attempt1.base_token, base.token);
    assert.equal(attempt2.base_token, base.token);
    assert.deepEqual(attempt2.changed, []);
  });

  it('observes small clusters in full every time (fresh measurements)', async () => {
    const small = [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')])];
    assert.ok(small.length * 2 <= fullObservationMaxEntries);
    const activity = observeChangesActivity(() => Promise.resolve(small), createObservationCache());
    const first = await activity({ cluster_id: clusterId, addresses: [node(1), node(2)], timeout_ms: null, base_token: null });
    const second = await activity({ cluster_id: clusterId, addresses: [node(1), node(2)], timeout_ms: null, base_token: first.token });
    assert.equal(second.base_token, null);
    assert.equal(second.changed.length, 2);
  });

  it('fingerprints ignore offsets and lag, not roles, reasons or shard ids', () => {
    const base = up(1, [shard('a', 'primary', null, 1)]);
    assert.equal(observationFingerprint(up(1, [shard('a', 'primary', null, 99)])), observationFingerprint(base));
    assert.notEqual(observationFingerprint(up(1, [shard('a', 'secondary', null, 1)])), observationFingerprint(base));
    assert.notEqual(observationFingerprint(up(1, [shard('b', 'primary', null, 1)])), observationFingerprint(base));
    assert.notEqual(observationFingerprint(nodeDown(1, 'one')), observationFingerprint(nodeDown(1, 'two')));
  });

  it('does not apply to another base, or when a held node is missing', () => {
    const held = new Map([[node(1), up(1)]]);
    assert.equal(applyObservationDelta(held, 'a', [node(1)], { token: 'b', base_token: 'other', changed: [] }), null);
    assert.equal(applyObservationDelta(held, 'a', [node(1), node(2)], { token: 'b', base_token: 'a', changed: [] }), null);
    assert.equal(applyObservationDelta(held, 'a', [node(1)], { token: 'b', base_token: null, changed: [] }), null, 'a full observation must name every node');
    const applied = applyObservationDelta(held, 'a', [`${node(1)}/`, node(2)], { token: 'b', base_token: 'a', changed: [up(2)] });
    assert.deepEqual(applied?.observations, [up(1), up(2)], 'addresses are matched normalized');
    assert.deepEqual([...(applied?.held.keys() ?? [])], [node(1), node(2)]);
  });

  it('bounds the cache by fingerprints, forgetting the least recently refreshed clusters', () => {
    const cache = createObservationCache(10);
    const state = (token: string, count: number) => ({ token, fingerprints: new Map(Array.from({ length: count }, (_, i) => [`n${i}`, 'f'])) });
    cache.remember('a', state('a1', 4));
    cache.remember('b', state('b1', 4));
    cache.remember('a', state('a2', 1));
    assert.equal(cache.fingerprints, 9);
    cache.remember('c', state('c1', 4));
    assert.equal(cache.find('b', 'b1'), undefined, 'b was refreshed least recently');
    assert.ok(cache.find('a', 'a1') && cache.find('a', 'a2') && cache.find('c', 'c1'));
    assert.ok(cache.fingerprints <= 10);
  });
});
