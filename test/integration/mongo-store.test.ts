// The store against the real MongoDB-compatible server: generation guards, idempotence, cleanup.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMongoStore, type ClusterStore } from '../../src/adapters/mongo-store.js';
import { loadConfig } from '../../src/config.js';
import type { ClusterView, ViewNode } from '../../src/domain/cluster-view.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
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
    store = await createMongoStore({ uri: config.mongodb.uri, database: uniqueName('store').replace(/-/g, '_') });
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
});
