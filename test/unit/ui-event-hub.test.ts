// The fleet page's events in memory (src/ui/event-hub.ts): what is kept and for how long, copies
// dropped, streams fed and resumed, and a stream that falls behind dropped instead of buffered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventHub, liveEventOf, type LiveEvent } from '../../src/ui/event-hub.js';

let counter = 0;
function nodeDown(cluster: string, fields: Record<string, unknown> = {}) {
  counter += 1;
  return {
    id: `${cluster}/${counter}/0`,
    category: 'NODE',
    event: 'NODE_DOWN',
    cluster_id: cluster,
    node_id: `${cluster}-n2:27017`,
    generation: counter,
    timestamp: '2026-11-24T10:00:00.000Z',
    schema: 1,
    payload: { address: `http://a/${cluster}/n2`, before: { code: 'UP' }, after: { code: 'NODE_DOWN', reason: 'datastore: connection refused' } },
    ...fields,
  };
}

function statusChanged(cluster: string) {
  counter += 1;
  return { id: `${cluster}/${counter}/1`, category: 'CLUSTER', event: 'CLUSTER_STATUS_CHANGED', cluster_id: cluster, node_id: null, generation: counter, timestamp: '2026-11-24T10:00:01.000Z', schema: 1, payload: { before: 'HEALTHY', after: 'DEGRADED' } };
}

const ids = (events: LiveEvent[]) => events.map((event) => event.id);

function discoveryApplied(name: string) {
  counter += 1;
  return {
    id: `discovery/${name}/2026-11-24T10:00:0${counter % 10}.000Z/DISCOVERY_APPLIED`,
    category: 'DISCOVERY',
    event: 'DISCOVERY_APPLIED',
    cluster_id: null,
    node_id: null,
    generation: 0,
    timestamp: '2026-11-24T10:00:02.000Z',
    schema: 1,
    payload: { actor: { user: 'ops', identity: null }, discovery: name, before: null, after: { name } },
  };
}

describe('event hub', () => {
  it('keeps events about a discovery (no cluster) under its name, and the maintenance mark', () => {
    const hub = new EventHub({ instance: 'disc' });
    const applied = hub.add(discoveryApplied('inventory'));
    assert.ok(applied);
    assert.equal(applied.cluster_id, null);
    assert.equal(applied.discovery, 'inventory');
    assert.equal(applied.maintenance, null);
    assert.deepEqual(ids(hub.recent({ cluster: null, codes: [] }, 10)), [applied.id]);
    assert.deepEqual(hub.recent({ cluster: 'inventory', codes: [] }, 10), [], 'not a cluster');
    const marked = hub.add(nodeDown('rs0', { maintenance: { until: '2026-11-24T12:00:00.000Z', reason: 'disk\nswap' } }));
    assert.deepEqual(marked?.maintenance, { until: '2026-11-24T12:00:00.000Z', reason: 'disk swap' });
    assert.equal(marked?.discovery, null);
    // A cluster event without its cluster, or a discovery event with one or without its name, is not a fleetview event.
    assert.equal(liveEventOf({ ...nodeDown('rs0'), cluster_id: null }), null);
    assert.equal(liveEventOf({ ...discoveryApplied('inventory'), cluster_id: 'rs0' }), null);
    assert.equal(liveEventOf({ ...discoveryApplied('inventory'), payload: {} }), null);
  });

  it('turns an envelope into one short line per field, and refuses what is not a fleetview event', () => {
    const event = liveEventOf(nodeDown('rs0'));
    assert.ok(event);
    assert.equal(event.node, 'rs0-n2:27017');
    assert.equal(event.detail, 'UP -> NODE_DOWN: datastore: connection refused');
    assert.equal(event.category, 'NODE');
    assert.equal(liveEventOf(null), null);
    assert.equal(liveEventOf({ ...nodeDown('rs0'), event: 'NODE_EXPLODED' }), null);
    assert.equal(liveEventOf({ ...nodeDown('rs0'), cluster_id: '../x' }), null);
    assert.equal(liveEventOf('{"event": "NODE_DOWN"}'), null);
    // A payload of another shape still shows what happened.
    assert.equal(liveEventOf({ ...nodeDown('rs0'), payload: null })?.detail, '(payload not readable)');
    // Long and multi-line texts come out as one line, cut.
    const long = liveEventOf(nodeDown('rs0', { payload: { address: 'http://a', before: null, after: { code: 'NODE_DOWN', reason: `line1\nline2 ${'x'.repeat(1000)}` } } }));
    assert.ok(long && long.detail.length <= 300 && !long.detail.includes('\n'));
  });

  it('keeps the recent events of the fleet and of each cluster, bounded, and drops copies by id', () => {
    const hub = new EventHub({ instance: 'a1', recent: 5, recentPerCluster: 2, maxClusters: 2 });
    const first = nodeDown('c1');
    assert.ok(hub.add(first));
    assert.equal(hub.add(first), null, 'the same id again is a copy');
    assert.equal(hub.add({ nope: true }), null);
    for (let i = 0; i < 3; i++) hub.add(nodeDown('c1'));
    hub.add(statusChanged('c2'));
    hub.add(nodeDown('c3'));
    assert.equal(hub.recent({ cluster: null, codes: [] }, 100).length, 5, 'the fleet: the last 5');
    assert.equal(hub.recent({ cluster: null, codes: [] }, 2).length, 2);
    assert.equal(hub.recent({ cluster: 'c1', codes: [] }, 100).length, 0, 'c1 was the least recently active of three: dropped');
    assert.equal(hub.recent({ cluster: 'c2', codes: [] }, 100).length, 1);
    assert.deepEqual(
      hub.recent({ cluster: null, codes: ['CLUSTER_STATUS_CHANGED'] }, 100).map((event) => event.cluster_id),
      ['c2'],
    );
  });

  it('feeds each stream the events of its filter, in order', async () => {
    const hub = new EventHub({ instance: 'a1' });
    const all = hub.subscribe({ cluster: null, codes: [] })!;
    const rs0Down = hub.subscribe({ cluster: 'rs0', codes: ['NODE_DOWN'] })!;
    const sent = [nodeDown('rs0'), statusChanged('rs0'), nodeDown('other'), nodeDown('rs0')];
    for (const event of sent) hub.add(event);
    assert.equal(all.queued, 4);
    assert.equal(rs0Down.queued, 2);
    const got: string[] = [];
    for (let i = 0; i < 2; i++) got.push(((await rs0Down.next()).value as LiveEvent).id);
    assert.deepEqual(got, [sent[0]!.id, sent[3]!.id]);
    // A waiting reader gets the next event as it comes.
    const waiting = rs0Down.next();
    hub.add(nodeDown('rs0'));
    assert.equal(((await waiting).value as LiveEvent).cluster_id, 'rs0');
    all.end();
    assert.equal((await all.next()).done, true);
    assert.equal(hub.subscriberCount, 1);
  });

  it('drops a stream that falls behind instead of buffering for it, and refuses streams past the bound', () => {
    const hub = new EventHub({ instance: 'a1', maxQueued: 3, maxSubscribers: 2 });
    const slow = hub.subscribe({ cluster: null, codes: [] })!;
    const other = hub.subscribe({ cluster: 'quiet', codes: [] })!;
    assert.equal(hub.subscribe({ cluster: null, codes: [] }), null, 'two streams at most');
    for (let i = 0; i < 4; i++) hub.add(nodeDown('busy'));
    assert.equal(slow.ended, 'slow');
    assert.equal(slow.queued, 0, 'what it had queued is let go');
    assert.equal(hub.droppedSlow, 1);
    assert.equal(other.ended, null);
    assert.ok(hub.subscribe({ cluster: null, codes: [] }), 'its place is free again');
  });

  it('resumes a stream after a position: what came since, or the recent ones and a gap', () => {
    const hub = new EventHub({ instance: 'a1', recent: 4 });
    hub.add(nodeDown('c1'));
    const mark = hub.position;
    const later = [nodeDown('c1'), nodeDown('c2'), statusChanged('c1')];
    for (const event of later) hub.add(event);
    assert.deepEqual(ids(hub.since(mark, { cluster: null, codes: [] }, 100).events), later.map((event) => event.id));
    assert.equal(hub.since(mark, { cluster: 'c1', codes: [] }, 100).events.length, 2);
    assert.deepEqual(hub.since(hub.position, { cluster: null, codes: [] }, 100), { events: [], gap: false });
    // Another server (restarted): the recent ones, and a gap.
    const elsewhere = hub.since('zz:2', { cluster: null, codes: [] }, 2);
    assert.equal(elsewhere.gap, true);
    assert.equal(elsewhere.events.length, 2);
    // Too far back: the events in between are gone.
    for (let i = 0; i < 10; i++) hub.add(nodeDown('c3'));
    assert.equal(hub.since(mark, { cluster: null, codes: [] }, 3).gap, true);
    // No position (a first connection without one): the recent ones, no gap.
    assert.equal(hub.since(null, { cluster: null, codes: [] }, 3).gap, false);
  });
});
