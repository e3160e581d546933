// The store against the real MongoDB-compatible server: generation guards, idempotence, cleanup.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { loadConfig } from '../../src/config.js';
import { aggregate } from '../../src/domain/aggregate.js';
import type { ClusterView, ViewNode } from '../../src/domain/cluster-view.js';
import { materialViewKey } from '../../src/domain/material-view.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { variedViews } from '../helpers/cluster-views.js';
import { uniqueName } from '../helpers/unique.js';

function member(address: string, shardIds: string[], status: ViewNode['status'] = { code: 'UP' }): ViewNode {
  return {
    address,
    node_id: `${address.split('/').pop()}:27017`,
    discovered: { node_id: null, node_class: null, node_group: null },
    status,
    last_error: null,
    last_successful_refresh_at: '2026-11-24T10:00:00.000Z',
    first_seen_at: '2026-11-24T10:00:00.000Z',
    left_discovery_at: null,
    agent: { version: { checkout: 'abc', number: '0.3.1', taint: 'not tainted' } },
    datastore: { cluster_id: 'rs0', node_id: `${address.split('/').pop()}:27017`, kind: 'mongodb', version: '6.0.5', cluster_display_name: null },
    shards: shardIds.map((id) => ({ id, role: 'secondary', commit_offset: { unit: 'seconds', value: 1 }, lag: null })),
    shards_error: null,
  };
}

function view(generation: number, members: ViewNode[]): ClusterView {
  return {
    cluster_id: 'rs0',
    display_name: 'Orders',
    generation,
    refreshed_at: `2026-11-24T10:00:${String(generation).padStart(2, '0')}.000Z`,
    status: 'HEALTHY',
    kinds: ['mongodb'],
    nodes: members.length,
    agents_down: 0,
    nodes_down: 0,
    shards_count: 1,
    shards_primaries: 0,
    shards: [],
    members,
  };
}

describe('MongoDB cluster store', () => {
  let store: ClusterStore;
  const config = loadConfig();

  before(async () => {
    store = await createClusterStore({ uri: config.mongodb.uri, database: uniqueName('store').replace(/-/g, '_') });
    await store.ensureIndexes();
  }, setupBound);

  after(
    () =>
      cleanUp({
        'dropping the test database': () => store.db.dropDatabase().catch(() => undefined),
        'closing the MongoDB store': () => store.close(),
      }),
    cleanupBound,
  );

  const count = (name: string) => store.db.collection(name).countDocuments({ cluster_id: 'rs0' });

  it('writes the view and one document per agent, agent info, node and shard', async () => {
    const result = await store.saveView(view(1, [member('http://a/n1', ['rs0']), member('http://a/n2', ['rs0'])]));
    assert.equal(result.applied, true);
    assert.equal((await store.loadView('rs0'))?.generation, 1);
    assert.deepEqual(await Promise.all(['agents', 'agents_info', 'nodes', 'shards'].map(count)), [2, 2, 2, 2]);
  });

  it('is idempotent for the same generation', async () => {
    const result = await store.saveView(view(1, [member('http://a/n1', ['rs0']), member('http://a/n2', ['rs0'])]));
    assert.equal(result.applied, false);
    assert.deepEqual(await Promise.all(['agents', 'shards'].map(count)), [2, 2]);
  });

  it('deletes what a newer view no longer has', async () => {
    const first = view(1, [member('http://a/n1', ['rs0']), member('http://a/n2', ['rs0'])]);
    const result = await store.saveView(view(3, [member('http://a/n1', ['rs0'])]), first);
    assert.deepEqual([result.upserted, result.deleted], [0, 4], 'n1 did not change: only n2 is written (deleted)');
    assert.deepEqual(await Promise.all(['agents', 'agents_info', 'nodes', 'shards'].map(count)), [1, 1, 1, 1]);
  });

  it('writes only the documents whose state changed, not measurements', async () => {
    const before = view(3, [member('http://a/n1', ['rs0'])]);
    const measured = view(4, [{ ...member('http://a/n1', ['rs0']), last_successful_refresh_at: '2026-11-24T10:00:04.000Z' }]);
    assert.deepEqual(await store.saveView(measured, before), { applied: true, upserted: 0, deleted: 0 });
    const down = view(5, [member('http://a/n1', ['rs0'], { code: 'NODE_DOWN', reason: 'mongod not reachable' })]);
    const result = await store.saveView(down, measured);
    assert.deepEqual([result.upserted, result.deleted], [2, 0], 'the agent and node documents carry the status');
    assert.deepEqual((await store.db.collection('agents').findOne({ _id: 'rs0/http://a/n1' } as never))?.status, { code: 'NODE_DOWN', reason: 'mongod not reachable' });
    await store.saveView(view(6, [member('http://a/n1', ['rs0'])]), down);
  });

  it('never lets an older generation overwrite a newer one', async () => {
    const stale = view(2, [member('http://a/n1', ['rs0'], { code: 'AGENT_DOWN', reason: 'old' }), member('http://a/n9', ['rs0'])]);
    const result = await store.saveView(stale, view(1, []));
    assert.equal(result.applied, false);
    const stored = await store.loadView('rs0');
    assert.equal(stored?.generation, 6);
    assert.deepEqual(
      await store.db.collection('agents').find({ cluster_id: 'rs0' }).project({ _id: 1, generation: 1, status: 1 }).toArray(),
      [{ _id: 'rs0/http://a/n1', generation: 6, status: { code: 'UP' } }],
    );
    assert.equal(await count('shards'), 1);
  });

  it('lists the stored clusters', async () => {
    const clusters = await store.listClusters();
    assert.deepEqual(clusters.map((c) => [c._id, c.generation]), [['rs0', 6]]);
  });

  it('touches only the cluster document: a newer summary, the entity documents as they were', async () => {
    const entitiesBefore = await store.db.collection('agents').find({ cluster_id: 'rs0' }).toArray();
    const touched = { ...view(9, []), nodes: 1, refreshed_at: '2026-11-24T10:05:00.000Z' };
    assert.equal(await store.touchSummary(touched), true);
    const [listed] = await store.listClusters();
    assert.deepEqual([listed?.generation, listed?.summary.refreshed_at], [9, '2026-11-24T10:05:00.000Z']);
    assert.deepEqual(await store.db.collection('agents').find({ cluster_id: 'rs0' }).toArray(), entitiesBefore);
    assert.equal((await store.loadView('rs0'))?.members.length, 1, 'the members are still there');
    assert.equal(await store.touchSummary({ ...touched, generation: 8 }), false, 'an older touch changes nothing');
    assert.equal(await store.touchSummary({ ...touched, cluster_id: 'never-stored' }), false, 'nothing to touch');
    assert.equal((await store.listClusters()).length, 1);
  });
});

describe('MongoDB cluster store: views rebuilt from their documents', () => {
  let store: ClusterStore;
  let other: ClusterStore;
  const config = loadConfig();
  const database = uniqueName('store-views').replace(/-/g, '_');

  before(async () => {
    store = await createClusterStore({ uri: config.mongodb.uri, database });
    // A second worker's adapter on the same database: a workflow may move to it at any time.
    other = await createClusterStore({ uri: config.mongodb.uri, database });
  }, setupBound);

  after(
    () =>
      cleanUp({
        'dropping the test database': () => store.db.dropDatabase().catch(() => undefined),
        'closing the first store': () => store.close(),
        'closing the second store': () => other.close(),
      }),
    cleanupBound,
  );

  const agentDoc = (clusterId: string, address: string) => store.db.collection('agents').findOne({ _id: `${clusterId}/${address}` } as never);

  it('loads every view it saved as it was: down, leaving and failing nodes, unknown roles, custom units', async () => {
    const { view1, view2 } = variedViews('varied');
    assert.ok(view2.members.some((node) => node.left_discovery_at !== null), 'a leaving node');
    assert.ok(view2.members.some((node) => node.shards_error !== null), 'a node whose shards call failed');
    assert.ok(view2.members.some((node) => node.shards === null), 'a node that never reported shards');
    for (const [index, view] of [view1, view2].entries()) {
      // Each written first, as a cluster of its own.
      const renamed = JSON.parse(JSON.stringify(view).replaceAll('varied', `varied${index}`)) as ClusterView;
      assert.equal((await store.saveView(renamed)).applied, true);
      assert.deepStrictEqual(await store.loadView(renamed.cluster_id), renamed);
    }
  });

  it('after an update, loads the new state, with measurements as of each document last write', async () => {
    const { view1, view2, address } = variedViews('updated');
    await store.saveView(view1);
    const result = await store.saveView(view2, view1);
    assert.ok(result.upserted > 0 && result.upserted < 10, `only the changed documents: ${result.upserted}`);
    const loaded = (await store.loadView('updated'))!;
    assert.equal(materialViewKey(loaded), materialViewKey(view2));
    const { shards: _shards, members: _members, ...summary } = view2;
    const { shards: _loadedShards, members: _loadedMembers, ...loadedSummary } = loaded;
    assert.deepStrictEqual(loadedSummary, summary);
    const node = (view: ClusterView, n: number) => view.members.find((member) => member.address === address(n))!;
    // Node 7 went down: written again, with this refresh's measurements.
    assert.deepStrictEqual(node(loaded, 7), node(view2, 7));
    // Node 1 did not change: its document keeps the first write's measurements.
    assert.equal(node(loaded, 1).last_successful_refresh_at, node(view1, 1).last_successful_refresh_at);
    assert.deepStrictEqual({ ...node(loaded, 1), last_successful_refresh_at: null }, { ...node(view2, 1), last_successful_refresh_at: null });
  });

  it('never lets a save plan against what another worker has changed since', async () => {
    const { view1, view2, address, record, first } = variedViews('moved');
    await store.saveView(view1);
    // The workflow moves to the other worker, which stores node 7 down...
    await other.saveView(view2, view1);
    // ...and back: node 7 is up again, as this adapter last wrote it. It must be written all the same.
    const back = aggregate(view2, record([1, 2, 3, 4, 5, 6, 7, 8]), [first[6]!], '2026-11-24T10:00:30.000Z', { nodeRetireGraceMs: 600_000 });
    await store.saveView(back, view2);
    assert.deepEqual((await agentDoc('moved', address(7)))?.status, { code: 'UP' });
    assert.equal(materialViewKey((await store.loadView('moved'))!), materialViewKey(back));
  });

  it('reads the documents back when a write landed that the workflow never heard of', async () => {
    const { view1, view2, address } = variedViews('unheard');
    await store.saveView(view1);
    // Stored, but the answer was lost (the caller timed out): the workflow still says view1.
    const moved = { ...view2, members: view2.members.map((m) => (m.address === address(1) ? { ...m, shards: [...m.shards!, { id: 's9', role: 'secondary' as const, commit_offset: null, lag: null }] } : m)) };
    await store.saveView(moved, view1);
    // Another worker gets the next view with the workflow's basis, view1: node 7 up, no s9.
    const next = { ...view1, generation: moved.generation + 1 };
    await other.saveView(next, view1);
    assert.deepEqual((await agentDoc('unheard', address(7)))?.status, { code: 'UP' });
    assert.equal(await store.db.collection('shards').countDocuments({ cluster_id: 'unheard', shard_id: 's9' }), 0, 'the shard only the unheard write had is gone');
    assert.deepStrictEqual(await other.loadView('unheard'), next);
  });

  it('takes over clusters stored before summaries, and lists only stored clusters', async () => {
    const { view1, view2 } = variedViews('legacy');
    // As the previous format wrote them: the whole view in the cluster document, entities without the newer fields.
    await store.db.collection('clusters').insertOne({ _id: 'legacy', cluster_id: 'legacy', generation: 1, view: view1, updated_at: view1.refreshed_at } as never);
    await store.db
      .collection('agents')
      .insertMany(view1.members.map((m) => ({ _id: `legacy/${m.address}`, cluster_id: 'legacy', generation: 1, address: m.address, node_id: m.node_id, status: m.status })) as never);
    assert.deepStrictEqual(await store.loadView('legacy'), view1);
    assert.deepEqual((await store.listClusters()).find((c) => c._id === 'legacy')?.summary.generation, 1);
    await other.saveView(view2, view1);
    assert.deepStrictEqual(await store.loadView('legacy'), view2, 'every document rewritten in the current format');
    assert.equal((await store.db.collection('clusters').findOne({ _id: 'legacy' } as never))?.view, undefined);
    // A first write under way leaves a placeholder: not a stored cluster.
    await store.db.collection('clusters').insertOne({ _id: 'placeholder', cluster_id: 'placeholder', generation: 0, writing_generation: 4 } as never);
    assert.equal(await store.loadView('placeholder'), null);
    assert.ok(!(await store.listClusters()).some((c) => c._id === 'placeholder'));
  });

  it('answers an older view than the one being written with applied: false', async () => {
    const { view1, view2 } = variedViews('older');
    const newer = store.saveView(view2);
    assert.deepEqual(await store.saveView(view1), { applied: false, upserted: 0, deleted: 0 });
    assert.equal((await newer).applied, true);
    assert.equal((await store.loadView('older'))?.generation, view2.generation);
  });
});
