// The fleet table's rows, filters and order (src/ui/fleet-rows.ts): what each column is made of,
// the worst first by default, every sort key both ways, filters and paging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiscoveryFacts } from '../../src/adapters/fleet-reads.js';
import type { ClusterSummary } from '../../src/adapters/store-documents.js';
import { defaultFleetQuery, fleetPage, fleetRows, fleetSortKeys, sortRows, type FleetQuery, type FleetRow } from '../../src/ui/fleet-rows.js';

function summary(id: string, fields: Partial<ClusterSummary> = {}): ClusterSummary {
  return {
    cluster_id: id,
    display_name: null,
    generation: 3,
    refreshed_at: '2026-11-24T10:00:00.000Z',
    status: 'HEALTHY',
    kinds: ['mongodb'],
    nodes: 3,
    agents_down: 0,
    nodes_down: 0,
    shards_count: 1,
    shards_primaries: 1,
    ...fields,
  };
}

function discovery(id: string, fields: Partial<DiscoveryFacts> = {}): DiscoveryFacts {
  return { cluster_id: id, display_name: null, discovery: 'inventory', held_by: [], missing_since: null, retired_at: null, ...fields };
}

const ids = (rows: FleetRow[]) => rows.map((row) => row.cluster_id);
const query = (change: Partial<FleetQuery> = {}): FleetQuery => ({ ...defaultFleetQuery, ...change });

describe('fleet rows', () => {
  it('join the stored summary and the discovery document of each cluster', () => {
    const rows = fleetRows(
      [summary('rs0', { display_name: 'Orders', nodes: 5, agents_down: 1, nodes_down: 1, shards_count: 8, shards_primaries: 6 })],
      [discovery('rs0', { display_name: 'old name', held_by: ['inv'] }), discovery('new-1', { display_name: 'Fresh' })],
    );
    const rs0 = rows.find((row) => row.cluster_id === 'rs0')!;
    assert.deepEqual(
      { ...rs0 },
      {
        cluster_id: 'rs0',
        display_name: 'Orders',
        status: 'HEALTHY',
        unlisted: false,
        nodes_total: 5,
        nodes_up: 3,
        agents_down: 1,
        nodes_down: 1,
        shards_total: 8,
        shards_without_primary: 2,
        kinds: ['mongodb'],
        refreshed_at: '2026-11-24T10:00:00.000Z',
        generation: 3,
        discovery: 'inventory',
        held_by: ['inv'],
        pause: null,
        maintenance: null,
      },
    );
    const fresh = rows.find((row) => row.cluster_id === 'new-1')!;
    assert.equal(fresh.status, 'NEW', 'listed by discovery, never refreshed');
    assert.equal(fresh.display_name, 'Fresh');
    assert.equal(fresh.nodes_total, null);
    assert.equal(fresh.refreshed_at, null);
  });

  it('carry the pause and maintenance windows that hold now; filter and count paused and in maintenance', () => {
    const nowMs = Date.parse('2026-11-24T12:00:00.000Z');
    const window = (until: string | null) => ({ since: '2026-11-24T10:00:00.000Z', until, reason: 'why', actor: { user: 'ops', identity: null } });
    const rows = fleetRows(
      [summary('paused'), summary('ended'), summary('maint'), summary('plain')],
      [],
      [
        { cluster_id: 'paused', pause: window(null), maintenance: null },
        { cluster_id: 'ended', pause: window('2026-11-24T11:59:59.000Z'), maintenance: window('2026-11-24T12:00:00.000Z') },
        { cluster_id: 'maint', pause: null, maintenance: window('2026-11-24T13:00:00.000Z') },
        { cluster_id: 'elsewhere', pause: window(null), maintenance: null },
      ],
      nowMs,
    );
    const byId = new Map(rows.map((row) => [row.cluster_id, row]));
    assert.deepEqual(byId.get('paused')!.pause, window(null));
    assert.equal(byId.get('ended')!.pause, null, 'a window whose end has passed holds no more');
    assert.equal(byId.get('ended')!.maintenance, null, 'nor one that ends right now');
    assert.equal(byId.get('maint')!.maintenance?.until, '2026-11-24T13:00:00.000Z');
    assert.ok(!byId.has('elsewhere'), 'a window makes no row by itself');
    assert.deepEqual(ids(fleetPage(rows, query({ control: 'paused' })).rows), ['paused']);
    assert.deepEqual(ids(fleetPage(rows, query({ control: 'maintenance' })).rows), ['maint']);
    assert.deepEqual(fleetPage(rows, query()).controlCounts, { paused: 1, maintenance: 1 });
  });

  it('mark retired and unlisted clusters; a cluster refreshed but not discovered still shows', () => {
    const rows = fleetRows(
      [summary('gone', { status: 'DEGRADED' }), summary('leaving'), summary('manual')],
      [discovery('gone', { retired_at: '2026-11-24T09:00:00.000Z', missing_since: '2026-11-24T08:00:00.000Z' }), discovery('leaving', { missing_since: '2026-11-24T09:59:00.000Z' })],
    );
    const byId = new Map(rows.map((row) => [row.cluster_id, row]));
    assert.equal(byId.get('gone')!.status, 'RETIRED');
    assert.equal(byId.get('gone')!.unlisted, false, 'retired is not "unlisted"');
    assert.equal(byId.get('leaving')!.unlisted, true);
    assert.equal(byId.get('manual')!.discovery, null);
  });

  it('sort the worst first by default: status, then more down, more shards without a primary, unlisted, id', () => {
    const rows = fleetRows(
      [
        summary('a-healthy'),
        summary('b-degraded-1', { status: 'DEGRADED', agents_down: 1 }),
        summary('c-degraded-2', { status: 'DEGRADED', agents_down: 1, nodes_down: 1 }),
        summary('d-degraded-shards', { status: 'DEGRADED', shards_count: 4, shards_primaries: 1 }),
        summary('e-unavailable', { status: 'UNAVAILABLE', agents_down: 3 }),
        summary('f-retired'),
        summary('g-degraded-1-unlisted', { status: 'DEGRADED', agents_down: 1 }),
      ],
      [discovery('f-retired', { retired_at: '2026-11-24T09:00:00.000Z' }), discovery('g-degraded-1-unlisted', { missing_since: '2026-11-24T09:00:00.000Z' }), discovery('h-new')],
    );
    assert.deepEqual(ids(fleetPage(rows, query()).rows), [
      'e-unavailable',
      'c-degraded-2',
      'g-degraded-1-unlisted',
      'b-degraded-1',
      'd-degraded-shards',
      'h-new',
      'a-healthy',
      'f-retired',
    ]);
    assert.deepEqual(ids(sortRows(rows, 'status', 'desc')).reverse(), ids(fleetPage(rows, query()).rows), 'desc is the exact reverse');
  });

  it('sort by every key, both ways, unknown values at the low end', () => {
    const rows = fleetRows(
      [
        summary('b', { nodes: 5, agents_down: 2, nodes_down: 0, shards_count: 3, shards_primaries: 3, refreshed_at: '2026-11-24T10:00:05.000Z' }),
        summary('a', { nodes: 3, agents_down: 0, nodes_down: 1, shards_count: 3, shards_primaries: 1, refreshed_at: '2026-11-24T10:00:09.000Z' }),
      ],
      [discovery('a', { discovery: 'zeta' }), discovery('b', { discovery: 'alpha' }), discovery('c', { discovery: 'mid' })],
    );
    const expected: Record<(typeof fleetSortKeys)[number], string[]> = {
      status: ['c', 'b', 'a'],
      cluster: ['a', 'b', 'c'],
      nodes: ['c', 'a', 'b'],
      agents_down: ['c', 'a', 'b'],
      nodes_down: ['c', 'b', 'a'],
      shards_without_primary: ['c', 'b', 'a'],
      refreshed: ['c', 'b', 'a'],
      discovery: ['b', 'c', 'a'],
    };
    for (const key of fleetSortKeys) {
      assert.deepEqual(ids(sortRows(rows, key, 'asc')), expected[key], `${key} asc`);
      assert.deepEqual(ids(sortRows(rows, key, 'desc')), [...expected[key]].reverse(), `${key} desc`);
    }
  });

  it('filter by status, kind and text (id, display name or discovery, any case); count over the whole fleet', () => {
    const rows = fleetRows(
      [
        summary('orders-rs', { display_name: 'Orders DB', status: 'DEGRADED' }),
        summary('events-kafka', { kinds: ['kafka'] }),
        summary('zk-main', { kinds: ['zookeeper'], status: 'UNAVAILABLE' }),
      ],
      [discovery('orders-rs', { discovery: 'payments-inventory' })],
    );
    assert.deepEqual(ids(fleetPage(rows, query({ status: ['DEGRADED', 'UNAVAILABLE'] })).rows), ['zk-main', 'orders-rs']);
    assert.deepEqual(ids(fleetPage(rows, query({ kind: 'kafka' })).rows), ['events-kafka']);
    assert.deepEqual(ids(fleetPage(rows, query({ q: 'orders db' })).rows), ['orders-rs'], 'display name');
    assert.deepEqual(ids(fleetPage(rows, query({ q: 'PAYMENTS' })).rows), ['orders-rs'], 'discovery');
    assert.deepEqual(ids(fleetPage(rows, query({ q: 'nothing' })).rows), []);
    const page = fleetPage(rows, query({ kind: 'kafka' }));
    assert.equal(page.total, 3);
    assert.equal(page.matched, 1);
    assert.deepEqual(page.counts, { UNAVAILABLE: 1, DEGRADED: 1, NEW: 0, HEALTHY: 1, RETIRED: 0 });
    assert.deepEqual(page.kinds, ['kafka', 'mongodb', 'zookeeper']);
  });

  it('page a large fleet: offset and limit over the sorted, filtered rows', () => {
    const rows = fleetRows(
      Array.from({ length: 1000 }, (_, i) => summary(`c-${String(i).padStart(4, '0')}`)),
      [],
    );
    const page = fleetPage(rows, query({ sort: 'cluster', offset: 990, limit: 20 }));
    assert.equal(page.rows.length, 10);
    assert.equal(page.rows[0]!.cluster_id, 'c-0990');
    assert.equal(page.matched, 1000);
  });
});
