// A cluster of 2,000 nodes × 50 shard copies (100,000 shard copies, ~106,000 entity documents)
// in a store of its own (the embedded one, with its default heap; not the shared one): its first
// write goes in chunks across saves that each wait only a short deadline, nothing written is
// written again, a small cluster's save goes through meanwhile, the cluster document stays small,
// and the view loads back. The figures are test diagnostics:
//   node scripts/test.mjs --skip-checks test/integration/cluster-store-large.test.ts
// (FLEETVIEW_LARGE_STORE_NODES=5000 for 5,000 × 50.)
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { BSON } from 'mongodb';
import { createClusterStore, StoreUnavailableError, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { ClusterView } from '../../src/domain/cluster-view.js';
import { materialViewKey } from '../../src/domain/material-view.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { quietRefresh, type KafkaShape } from '../helpers/cluster-views.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const large: KafkaShape = { clusterId: 'large', nodes: Number(process.env.FLEETVIEW_LARGE_STORE_NODES ?? 2000), shardsPerNode: 50 };
const small: KafkaShape = { clusterId: 'small', nodes: 3, shardsPerNode: 5 };
/** What a refresh waits for the store in these saves (the worker's default is 5 s). */
const saveDeadlineMs = 2_000;
/** The whole first write, however many saves it takes. */
const firstWriteBoundMs = 400_000;

const written = new Map<string, number>();
let server: IsolatedService | undefined;
let store: ClusterStore | undefined;

before(async () => {
  const port = await freePort();
  server = isolatedService('store', { FLEETVIEW_MONGODB_PORT: String(port) });
  server.start();
  store = await createClusterStore({
    uri: `mongodb://127.0.0.1:${port}/`,
    database: uniqueName('store-large').replace(/-/g, '_'),
    onDocumentsWritten: (clusterId, documents) => written.set(clusterId, (written.get(clusterId) ?? 0) + documents),
  });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the store client': () => store?.close(),
      'stopping the isolated store': () => server?.dispose(),
    }),
  cleanupBound,
);

function documentsOf(view: ClusterView): number {
  // Every node is up: an agent, agent info and node document each, and one per shard copy.
  return view.members.reduce((sum, node) => sum + 3 + (node.shards?.length ?? 0), 0);
}

it(`writes a ${large.nodes} × ${large.shardsPerNode} cluster across saves of ${saveDeadlineMs} ms, never writing a document twice`, async (t) => {
  assert.ok(store);
  const clusterStore = store;
  let view = quietRefresh(null, large, 0);
  const planned = documentsOf(view);
  const perSave: number[] = [];
  let smallSaveMs: number | null = null;
  const started = Date.now();
  for (let minute = 1; ; minute++) {
    assert.ok(Date.now() - started < firstWriteBoundMs, `the first write was not done after ${perSave.length} saves in ${firstWriteBoundMs} ms`);
    const before = written.get(large.clusterId) ?? 0;
    // Each save as the workflow sends it: a newer refresh, against the view it last saw stored (none yet).
    const save = clusterStore.saveView(view, null, { deadlineMs: saveDeadlineMs }).then(
      () => true,
      (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        return false;
      },
    );
    if (minute === 2) {
      // A small cluster's refresh while the large write goes on: it waits for about one flush.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const smallStarted = Date.now();
      const result = await clusterStore.saveView(quietRefresh(null, small, 0), null, { deadlineMs: 5_000 });
      smallSaveMs = Date.now() - smallStarted;
      assert.equal(result.applied, true);
      assert.equal(await clusterStore.loadView(large.clusterId), null, 'the large write was still under way');
    }
    const stored = await save;
    perSave.push((written.get(large.clusterId) ?? 0) - before);
    if (stored) break;
    view = quietRefresh(view, large, minute);
  }
  const firstWriteMs = Date.now() - started;
  const total = perSave.reduce((sum, n) => sum + n, 0);
  t.diagnostic(
    `first write of ${planned} documents: ${(firstWriteMs / 1000).toFixed(1)} s over ${perSave.length} saves, ` +
      `${Math.round(total / (firstWriteMs / 1000))} documents/s; written per save: ${perSave.join(', ')}; a small cluster's save meanwhile: ${smallSaveMs} ms`,
  );
  assert.ok(perSave.length >= 3, `several saves: ${perSave.length}`);
  assert.equal(total, planned, 'each document written once, whatever the number of saves');
  assert.ok(smallSaveMs !== null && smallSaveMs < 3_000, `the small cluster's save took ${smallSaveMs} ms`);

  const clusterDocument = await clusterStore.db.collection('clusters').findOne({ _id: large.clusterId } as never);
  const size = BSON.calculateObjectSize(clusterDocument ?? {});
  t.diagnostic(`cluster document: ${size} bytes`);
  assert.ok(size < 16 * 1024, `the cluster document holds a summary only: ${size} bytes`);

  const loadStarted = Date.now();
  const loaded = await clusterStore.loadView(large.clusterId);
  t.diagnostic(`loadView: ${Date.now() - loadStarted} ms`);
  assert.ok(loaded);
  assert.equal(loaded.members.length, large.nodes);
  assert.equal(materialViewKey(loaded), materialViewKey(view));

  // The next refresh, only measurements moved (the workflow's store touch): the cluster document alone.
  const before = written.get(large.clusterId);
  assert.deepEqual(await clusterStore.saveView(quietRefresh(view, large, 1_000), view, { deadlineMs: 5_000 }), { applied: true, upserted: 0, deleted: 0 });
  assert.equal(written.get(large.clusterId), before);
});
