/**
 * Property-based tests of aggregate + diff over generated refresh histories: clusters of up to
 * five nodes that come and go from discovery, go down in both ways, change versions, gain,
 * lose and swap shards and primaries, with time moving on by random steps across the grace
 * period. Run counts stay moderate: the unit suite shares two cores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { eventSchemaProblems } from '../../src/adapters/event-schema.js';
import { aggregate, applyNodeStatusEvents, diff, nodeStatuses } from '../../src/domain/index.js';
import type { ClusterView, DiscoveryRecord, FleetEvent, NodeObservation, Offset, ShardRole } from '../../src/domain/index.js';
import { agentInfo, at, clusterId, datastoreInfo, node, record } from './domain-fixtures.js';

const nodeNumbers = [1, 2, 3, 4, 5];

interface ShardSpec {
  id: string;
  role: ShardRole;
  offset: number;
  lag: Offset | null;
}

interface ObservationSpec {
  kind: 'UP' | 'NODE_DOWN' | 'AGENT_DOWN' | 'SHARDS_FAILED';
  reason: string;
  agentVersion: string;
  datastoreVersion: string;
  shards: ShardSpec[];
}

interface RoundSpec {
  listed: number[];
  /** Listed nodes whose observation is missing this round. */
  unobserved: number[];
  /** An observation for a node discovery does not list (to be ignored). */
  stray: boolean;
  observations: ObservationSpec[];
  /** Sort keys that shuffle the input order of observations and record nodes. */
  order: number[];
  advanceMinutes: number;
}

const shardSpec: fc.Arbitrary<ShardSpec> = fc.record({
  id: fc.constantFrom('a', 'b', 'c'),
  role: fc.constantFrom<ShardRole>('primary', 'secondary', 'secondary', { unknown: 'arbiter' }),
  offset: fc.nat(1000),
  lag: fc.option(
    fc.record({ unit: fc.constantFrom<Offset['unit']>('seconds', { unit: 'ops' }), value: fc.nat(60) }),
    { freq: 2 },
  ),
});

const observationSpec: fc.Arbitrary<ObservationSpec> = fc.record({
  kind: fc.constantFrom<ObservationSpec['kind']>('UP', 'UP', 'UP', 'UP', 'NODE_DOWN', 'AGENT_DOWN', 'SHARDS_FAILED'),
  reason: fc.constantFrom('timeout', 'refused'),
  agentVersion: fc.constantFrom('0.3.1', '0.3.1', '0.3.2'),
  datastoreVersion: fc.constantFrom('6.0.5', '6.0.5', '7.0.2'),
  shards: fc.uniqueArray(shardSpec, { selector: (spec) => spec.id, maxLength: 3 }),
});

const roundSpec: fc.Arbitrary<RoundSpec> = fc.record({
  listed: fc.subarray(nodeNumbers, { minLength: 0 }),
  unobserved: fc.subarray(nodeNumbers, { maxLength: 1 }),
  stray: fc.boolean(),
  observations: fc.array(observationSpec, { minLength: nodeNumbers.length, maxLength: nodeNumbers.length }),
  order: fc.array(fc.nat(), { minLength: nodeNumbers.length + 1, maxLength: nodeNumbers.length + 1 }),
  advanceMinutes: fc.integer({ min: 0, max: 7 }),
});

const historySpec = fc.record({
  graceMinutes: fc.constantFrom(0, 5, 10),
  rounds: fc.array(roundSpec, { minLength: 1, maxLength: 8 }),
});

function observation(n: number, spec: ObservationSpec): NodeObservation {
  const agent = agentInfo(spec.agentVersion);
  const shards = spec.shards.map((s) => ({ id: s.id, role: s.role, commit_offset: { unit: 'seconds' as const, value: s.offset }, lag: s.lag }));
  switch (spec.kind) {
    case 'AGENT_DOWN':
      return { address: node(n), status: { code: 'AGENT_DOWN', reason: spec.reason }, agent: null, datastore: null, shards: null, shards_error: null };
    case 'NODE_DOWN':
      return { address: node(n), status: { code: 'NODE_DOWN', reason: spec.reason }, agent, datastore: null, shards: null, shards_error: null };
    case 'SHARDS_FAILED':
      return { address: node(n), status: { code: 'UP' }, agent, datastore: datastoreInfo(n, spec.datastoreVersion), shards: null, shards_error: spec.reason };
    case 'UP':
      return { address: node(n), status: { code: 'UP' }, agent, datastore: datastoreInfo(n, spec.datastoreVersion), shards, shards_error: null };
  }
}

interface Step {
  record: DiscoveryRecord;
  observations: NodeObservation[];
  refreshedAt: string;
}

/** The inputs of each refresh; `shuffled` feeds the same data in another order. */
function steps(rounds: readonly RoundSpec[], shuffled: boolean): Step[] {
  let minute = 0;
  return rounds.map((round) => {
    minute += round.advanceMinutes;
    const observed = round.listed.filter((n) => !round.unobserved.includes(n));
    if (round.stray) observed.push(6);
    let observations = observed.map((n) => observation(n, round.observations[(n - 1) % nodeNumbers.length]!));
    let listed = round.listed;
    if (shuffled) {
      const key = (n: number) => round.order[(n - 1) % round.order.length] ?? 0;
      observations = observed.map((n, i) => ({ n, o: observations[i]! })).sort((a, b) => key(a.n) - key(b.n) || b.n - a.n).map(({ o }) => o);
      listed = [...listed].sort((a, b) => key(b) - key(a) || a - b);
    }
    return { record: record(listed), observations, refreshedAt: at(minute) };
  });
}

interface Refreshed {
  step: Step;
  previous: ClusterView | null;
  view: ClusterView;
  events: FleetEvent[];
}

function replay(history: readonly Step[], graceMinutes: number): Refreshed[] {
  let previous: ClusterView | null = null;
  return history.map((step) => {
    const view = aggregate(previous, step.record, step.observations, step.refreshedAt, { nodeRetireGraceMs: graceMinutes * 60_000 });
    const refreshed = { step, previous, view, events: diff(previous, view) };
    previous = view;
    return refreshed;
  });
}

/** Everything a consumer can know about the nodes from the events: status, infos, shard roles. */
type NodeFacts = Record<string, { status: string; agent: string; datastore: string; shards: Record<string, string> }>;

function factsOf(view: ClusterView | null): NodeFacts {
  const facts: NodeFacts = {};
  for (const member of view?.members ?? []) {
    const shards: Record<string, string> = {};
    for (const s of member.shards ?? []) shards[s.id] = JSON.stringify(s.role);
    facts[member.address] = { status: member.status.code, agent: JSON.stringify(member.agent), datastore: JSON.stringify(member.datastore), shards };
  }
  return facts;
}

function applyEvents(before: NodeFacts, events: readonly FleetEvent[]): NodeFacts {
  const facts = structuredClone(before);
  const entry = (address: string) => facts[address] ?? assert.fail(`event for unknown node ${address}`);
  for (const event of events) {
    switch (event.event) {
      case 'AGENT_NEW':
        assert.equal(facts[event.payload.address], undefined, 'AGENT_NEW for a known node');
        facts[event.payload.address] = { status: event.payload.status.code, agent: 'null', datastore: 'null', shards: {} };
        break;
      case 'AGENT_UP':
      case 'AGENT_DOWN':
      case 'NODE_UP':
      case 'NODE_DOWN':
        entry(event.payload.address).status = event.payload.after.code;
        break;
      case 'AGENT_INFO_NEW': {
        const { address, ...info } = event.payload;
        entry(address).agent = JSON.stringify(info);
        break;
      }
      case 'AGENT_INFO_CHANGED':
        entry(event.payload.address).agent = JSON.stringify(event.payload.after);
        break;
      case 'NODE_NEW': {
        const { address, ...info } = event.payload;
        entry(address).datastore = JSON.stringify(info);
        break;
      }
      case 'NODE_CHANGED':
        entry(event.payload.address).datastore = JSON.stringify(event.payload.after);
        break;
      case 'SHARD_ALLOCATION_NEW':
        entry(event.payload.address).shards[event.payload.id] = JSON.stringify(event.payload.role);
        break;
      case 'SHARD_ALLOCATION_CHANGED':
        entry(event.payload.address).shards[event.payload.after.id] = JSON.stringify(event.payload.after.role);
        break;
      case 'SHARD_ALLOCATION_REMOVED':
        delete entry(event.payload.address).shards[event.payload.id];
        break;
      case 'NODE_RETIRED':
        delete facts[event.payload.address];
        break;
      default:
        break;
    }
  }
  return facts;
}

const nodeScoped = new Set(['AGENT_NEW', 'AGENT_UP', 'AGENT_DOWN', 'AGENT_INFO_NEW', 'AGENT_INFO_CHANGED', 'NODE_NEW', 'NODE_CHANGED', 'NODE_UP', 'NODE_DOWN', 'SHARD_ALLOCATION_NEW', 'SHARD_ALLOCATION_CHANGED', 'SHARD_ALLOCATION_REMOVED']);

const runs = { numRuns: 200 };

describe('aggregate + diff properties', () => {
  it('refreshing again with identical inputs emits nothing, and diff(v, v) is empty', () => {
    fc.assert(
      fc.property(historySpec, ({ graceMinutes, rounds }) => {
        for (const { step, view } of replay(steps(rounds, false), graceMinutes)) {
          assert.deepEqual(diff(view, view), []);
          const again = aggregate(view, step.record, step.observations, step.refreshedAt, { nodeRetireGraceMs: graceMinutes * 60_000 });
          assert.deepEqual(diff(view, again), []);
        }
      }),
      runs,
    );
  });

  it('the same inputs, in any order, give the same views and events byte for byte', () => {
    fc.assert(
      fc.property(historySpec, ({ graceMinutes, rounds }) => {
        const original = replay(steps(rounds, false), graceMinutes);
        const again = replay(structuredClone(steps(rounds, false)), graceMinutes);
        const shuffled = replay(steps(rounds, true), graceMinutes);
        const serialized = (refreshes: Refreshed[]) => JSON.stringify(refreshes.map(({ view, events }) => ({ view, events })));
        assert.equal(serialized(again), serialized(original));
        assert.equal(serialized(shuffled), serialized(original));
      }),
      runs,
    );
  });

  it('every event validates against the schema, with ids <cluster>/<generation>/<index> and growing generations', () => {
    fc.assert(
      fc.property(historySpec, ({ graceMinutes, rounds }) => {
        const ids = new Set<string>();
        let generation = 0;
        for (const { step, view, events } of replay(steps(rounds, false), graceMinutes)) {
          assert.ok(view.generation > generation, 'generations only grow');
          generation = view.generation;
          events.forEach((event, index) => {
            assert.deepEqual(eventSchemaProblems(event), [], JSON.stringify(event));
            assert.equal(event.id, `${clusterId}/${view.generation}/${index}`);
            assert.equal(event.generation, view.generation);
            assert.equal(event.timestamp, step.refreshedAt);
            assert.ok(!ids.has(event.id), `duplicate id ${event.id}`);
            ids.add(event.id);
          });
        }
      }),
      runs,
    );
  });

  it('events are complete: applied to the previous view they give the new node statuses, infos and shard roles', () => {
    fc.assert(
      fc.property(historySpec, ({ graceMinutes, rounds }) => {
        for (const { previous, view, events } of replay(steps(rounds, false), graceMinutes)) {
          const codes = (entries: ReturnType<typeof nodeStatuses>) => entries.map(({ address, status }) => `${address} ${status.code}`);
          assert.deepEqual(codes(applyNodeStatusEvents(nodeStatuses(previous), events)), codes(nodeStatuses(view)));
          assert.deepEqual(applyEvents(factsOf(previous), events), factsOf(view));
        }
      }),
      runs,
    );
  });

  it('node events come only from the node own report; primary events match the views', () => {
    fc.assert(
      fc.property(historySpec, ({ graceMinutes, rounds }) => {
        for (const { step, previous, view, events } of replay(steps(rounds, false), graceMinutes)) {
          const reported = new Set(step.observations.map((o) => o.address));
          for (const event of events) {
            if (nodeScoped.has(event.event)) {
              const { address } = event.payload as { address: string };
              assert.ok(reported.has(address), `${event.event} for ${address}, which did not report`);
            }
          }
          const primaries = (v: ClusterView | null, id: string) => v?.shards.find((s) => s.id === id)?.primaries ?? [];
          const addresses = (refs: ReadonlyArray<{ address: string }>) => refs.map((ref) => ref.address).join(',');
          for (const summary of previous?.shards ?? []) {
            const changed = addresses(summary.primaries) !== addresses(primaries(view, summary.id));
            const emitted = events.filter((e) => e.event.startsWith('SHARD_PRIMARY_') && (e.payload as { shard_id: string }).shard_id === summary.id);
            assert.equal(emitted.length, changed ? 1 : 0, `primary events for ${summary.id}`);
          }
          for (const event of events) {
            if (event.event !== 'SHARD_PRIMARY_CHANGED' && event.event !== 'SHARD_PRIMARY_LOST' && event.event !== 'SHARD_PRIMARY_CONFLICT') continue;
            const { shard_id, before, after } = event.payload;
            assert.equal(addresses(before), addresses(primaries(previous, shard_id)));
            assert.equal(addresses(after), addresses(primaries(view, shard_id)));
            const expected = after.length === 0 ? 'SHARD_PRIMARY_LOST' : after.length === 1 ? 'SHARD_PRIMARY_CHANGED' : 'SHARD_PRIMARY_CONFLICT';
            assert.equal(event.event, expected);
          }
        }
      }),
      runs,
    );
  });
});
