// The chaos oracle's model (bench/chaos/model.ts) restates events.md on its own; here it must
// agree with fleetview's aggregate + diff on random sequences of sim changes (states, agent
// faults, failovers, nodes joining and leaving), so that a chaos run that finds a difference
// finds one in delivery, not between two readings of the spec.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { eventKey, expectedKeys, membershipKey, observe, observedStatus, retire, type ModelView, type SimClusterSnapshot } from '../../bench/chaos/model.js';
import { aggregate } from '../../src/domain/aggregate.js';
import type { ClusterView } from '../../src/domain/cluster-view.js';
import { diff } from '../../src/domain/diff.js';
import { discoveryEvents } from '../../src/domain/discovery-events.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import type { NodeObservation } from '../../src/domain/observation.js';
import { handleAdmin } from '../../src/sim/admin-api.js';
import { SimFleet } from '../../src/sim/fleet.js';

const baseUrl = 'http://127.0.0.1:7070';
const timeoutMs = 1000;
const graceMs = 20_000;

type Op =
  | { op: 'agent'; node: number; mode: string }
  | { op: 'datastore'; node: number; up: boolean }
  | { op: 'failover'; node: number }
  | { op: 'add' }
  | { op: 'remove'; node: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('agent' as const), node: fc.nat(5), mode: fc.constantFrom('up', 'down', 'hang', 'reset', 'error', 'garbage', 'oversize', 'up', 'up') }),
  fc.record({ op: fc.constant('datastore' as const), node: fc.nat(5), up: fc.boolean() }),
  fc.record({ op: fc.constant('failover' as const), node: fc.nat(5) }),
  fc.record({ op: fc.constant('add' as const) }),
  fc.record({ op: fc.constant('remove' as const), node: fc.nat(5) }),
);

function snapshot(fleet: SimFleet, id: string): SimClusterSnapshot {
  return handleAdmin(fleet, baseUrl, 'GET', ['clusters', id], new URLSearchParams(), undefined).body as SimClusterSnapshot;
}

/** What the agent client would return for each listed node of the sim cluster. */
function observations(sim: SimClusterSnapshot, listed: readonly string[]): NodeObservation[] {
  return listed.map((address) => {
    const node = sim.nodes.find((candidate) => candidate.url === address);
    const code = observedStatus(node, sim.cluster_id, timeoutMs);
    const up = code === 'UP';
    return {
      address,
      status: up ? { code } : { code, reason: 'scripted' },
      agent: code !== 'AGENT_DOWN' && node ? { version: { checkout: 'f1ee7e0', number: node.state.agent_version, taint: 'not tainted' } } : null,
      datastore: up && node ? { cluster_id: sim.cluster_id, node_id: node.node_id, kind: sim.kind, version: node.state.version, cluster_display_name: sim.display_name } : null,
      shards:
        up && node
          ? sim.shards
              .filter((shard) => shard.replicas.includes(node.node))
              .map((shard) => ({ id: shard.id, role: shard.primary === node.node ? ('primary' as const) : ('secondary' as const), commit_offset: null, lag: null }))
          : null,
      shards_error: null,
    };
  });
}

const sorted = (keys: string[]): string[] => [...keys].sort();

it('the chaos model expects exactly the events aggregate + diff emit, change after change', () => {
  fc.assert(
    fc.property(fc.constantFrom('mongodb', 'kafka', 'zookeeper'), fc.array(opArb, { maxLength: 25 }), (kind, ops) => {
      const fleet = new SimFleet({ clusters: 1, nodesPerCluster: 3, kinds: [kind], partitions: 4 });
      const id = [...fleet.clusters.keys()][0]!;
      let sim = snapshot(fleet, id);
      let listed = sim.nodes.map((node) => node.url);
      let clock = Date.parse('2026-01-01T00:00:00Z');
      const record = (): DiscoveryRecord => ({ cluster_id: id, display_name: null, nodes: listed.map((agent_address) => ({ agent_address })) });
      const refresh = (previous: ClusterView | null): { view: ClusterView; keys: string[] } => {
        clock += 5000;
        const view = aggregate(previous, record(), observations(sim, listed), new Date(clock).toISOString(), { nodeRetireGraceMs: graceMs });
        return { view, keys: diff(previous, view).map(eventKey) };
      };

      let model: ModelView = observe(null, sim, listed, timeoutMs);
      let { view, keys } = refresh(null);
      assert.deepEqual(sorted(keys), sorted(expectedKeys(null, model)), 'onboarding');

      for (const op of ops) {
        const names = sim.nodes.map((node) => node.node);
        const name = names[('node' in op ? op.node : 0) % names.length]!;
        const previousRecord = record();
        let removed: string | null = null;
        try {
          if (op.op === 'agent') fleet.setState(id, name, { agent: op.mode as 'up' });
          else if (op.op === 'datastore') fleet.setState(id, name, { datastore: op.up ? 'up' : 'down' });
          else if (op.op === 'failover') fleet.failover(id, name);
          else if (op.op === 'add') fleet.addNode(id);
          else {
            if (names.length <= 1) continue;
            removed = sim.nodes.find((node) => node.node === name)!.url;
            fleet.removeNode(id, name);
          }
        } catch {
          continue; // a failover to a node without replicas: the sim refuses, nothing changed
        }
        sim = snapshot(fleet, id);
        listed = sim.nodes.map((node) => node.url);
        const seen = discoveryEvents(previousRecord, record(), { run: 'r', timestamp: new Date(clock).toISOString() }).map(eventKey);
        const added = listed.filter((address) => !previousRecord.nodes.some((node) => node.agent_address === address));
        const expectedDiscovery = added.length > 0 || removed ? [membershipKey(added, removed ? [removed] : [])] : [];
        assert.deepEqual(seen, expectedDiscovery, `${JSON.stringify(op)}: discovery`);

        const next = observe(model, sim, listed, timeoutMs);
        ({ view, keys } = refresh(view));
        assert.deepEqual(sorted(keys), sorted(expectedKeys(model, next)), `${JSON.stringify(op)}`);
        model = next;
        if (removed) {
          clock += graceMs;
          const gone = retire(model, removed);
          ({ view, keys } = refresh(view));
          assert.deepEqual(sorted(keys), sorted(expectedKeys(model, gone)), `${JSON.stringify(op)}: retired`);
          model = gone;
        }
      }
    }),
    { numRuns: 300 },
  );
});
