// The store freezes (SIGSTOP) under a running fleet: every cluster keeps refreshing and
// publishing throughout, nothing is lost, and once the store resumes the stored state catches up
// within 30 s. Scaled to the suite by default; the full size is
//   FLEETVIEW_FREEZE_CLUSTERS=100 FLEETVIEW_FREEZE_MS=60000 FLEETVIEW_FREEZE_INTERVAL_S=5 npm test -- test/e2e/store-freeze.test.ts
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { materialViewKey } from '../../src/domain/material-view.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const clusters = Number(process.env.FLEETVIEW_FREEZE_CLUSTERS ?? 10);
const freezeMs = Number(process.env.FLEETVIEW_FREEZE_MS ?? 15_000);
const intervalS = Number(process.env.FLEETVIEW_FREEZE_INTERVAL_S ?? 2);

let store: IsolatedService;
let sim: SimHandle;
let worker: TestWorker | undefined;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let reader: TopicReader;
let mongo: MongoClient;
let clusterStore: ClusterStore;
let config: ReturnType<typeof testConfig>;
const handles: Array<WorkflowHandle<typeof clusterRefresh>> = [];

before(async () => {
  const port = await freePort();
  store = isolatedService('store', { FLEETVIEW_MONGODB_PORT: String(port) });
  store.start();
  config = testConfig({ FLEETVIEW_MONGODB_URI: `mongodb://127.0.0.1:${port}/`, FLEETVIEW_MONGODB_TIMEOUT_MS: '1000' });
  sim = await startSim({ clusters, nodes: 3, idPrefix: `${uniqueName('freeze')}-` });
  temporal = await connectClient(config);
  // The worker creates the topic the reader subscribes to.
  worker = await startTestWorker(config);
  reader = await new TopicReader(config).start();
  mongo = await MongoClient.connect(config.mongodb.uri, { serverSelectionTimeoutMS: 5_000 });
  // Reads stored views back as the worker's resume does (a store timeout that outlasts the freeze's thaw).
  clusterStore = await createClusterStore({ uri: config.mongodb.uri, database: config.mongodb.database, timeoutMs: 5_000 });
}, setupBound);

after(
  () =>
    cleanUp({
      'resuming the frozen store': () => {
        if (store) store.signal('SIGCONT');
      },
      'terminating the cluster workflows': async () => {
        for (const handle of handles) await terminateQuietly(handle);
      },
      'stopping the worker': () => worker?.stop(),
      'stopping the topic reader': () => reader?.stop(),
      'closing the Temporal client': () => temporal?.close(),
      'closing the MongoDB client': () => mongo?.close(),
      'closing the cluster store': () => clusterStore?.close(),
      'stopping the sim': () => sim?.close(),
      'stopping the isolated store': () => store?.dispose(),
    }),
  cleanupBound,
);

it('keeps refreshing and publishing while the store is frozen, and the store converges after', async () => {
  for (const record of sim.records()) {
    handles.push(
      await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
        taskQueue: config.temporal.taskQueue,
        workflowId: `cluster/${record.cluster_id}`,
        args: [{ ...record, refresh_interval_s: intervalS }],
      }),
    );
  }
  const stored = () => mongo.db(config.mongodb.database).collection('clusters');
  // A cluster document with a summary is a stored cluster (one without is a first write under way);
  // and each workflow must know it (a first write that outlasted its wait lands in the background,
  // and its workflow hears of it at its next save).
  await waitUntil(async () => (await stored().countDocuments({ summary: { $exists: true } })) === clusters, 60_000, 'every cluster was not stored');
  await waitUntil(
    async () => (await Promise.all(handles.map((handle) => handle.query(viewQuery)))).every((q) => q.stored_generation !== null),
    60_000,
    'every workflow did not learn that its view was stored',
  );

  const generations = async () => Promise.all(handles.map(async (handle) => (await handle.query(viewQuery)).view?.generation ?? 0));
  store.signal('SIGSTOP');
  const frozenAt = Date.now();
  const atFreeze = await generations();
  // A change in a third of the clusters while the store is frozen.
  const changed = sim.records().filter((_record, index) => index % 3 === 0);
  for (const record of changed) {
    await fetch(`${sim.url}/admin/clusters/${record.cluster_id}/nodes/n2/state`, { method: 'POST', body: JSON.stringify({ datastore: 'down' }) });
  }
  // Events reach Kafka during the freeze.
  await reader.waitFor(
    (events) => changed.every((record) => events.some((e) => e.cluster_id === record.cluster_id && e.event === 'NODE_DOWN')),
    Math.max(1_000, freezeMs - (Date.now() - frozenAt)),
  );
  assert.ok(Date.now() - frozenAt < freezeMs, 'the changes were published while the store was frozen');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, freezeMs - (Date.now() - frozenAt))));
  // Every cluster refreshed throughout: at least half the refreshes the freeze had slots for.
  const atThaw = await generations();
  const minimum = Math.floor(freezeMs / 1000 / intervalS / 2);
  atThaw.forEach((generation, index) => assert.ok(generation - atFreeze[index]! >= minimum, `cluster ${index} refreshed ${generation - atFreeze[index]!} times while the store was frozen`));
  const behind = await handles[0]!.query(viewQuery);
  assert.ok(behind.stored_generation !== null && behind.stored_generation < behind.view!.generation, `stored ${behind.stored_generation} view ${behind.view?.generation} ${behind.store_error} ${behind.last_report?.store}`);

  store.signal('SIGCONT');
  const thawedAt = Date.now();
  // Converged: the stored view of every cluster is materially its current one, entity documents included.
  await waitUntil(
    async () => {
      const views = await Promise.all(handles.map((handle) => handle.query(viewQuery)));
      const storedViews = await Promise.all(views.map((q) => clusterStore.loadView(q.view!.cluster_id)));
      return views.every((q, index) => storedViews[index] && materialViewKey(storedViews[index]) === materialViewKey(q.view!) && q.store_error === null);
    },
    30_000,
    'the store did not converge after it resumed',
  );
  const convergedMs = Date.now() - thawedAt;
  const down = await mongo
    .db(config.mongodb.database)
    .collection<{ cluster_id: string }>('nodes')
    .find({ 'status.code': 'NODE_DOWN' })
    .toArray();
  assert.deepEqual(down.map((doc) => doc.cluster_id).sort(), changed.map((record) => record.cluster_id).sort());
  // Nothing lost, nothing doubled: one NODE_DOWN per changed cluster, ids unique.
  const nodeDowns = reader.unique().filter((e) => e.event === 'NODE_DOWN');
  assert.equal(nodeDowns.length, changed.length);
  process.stdout.write(`# store frozen ${freezeMs} ms under ${clusters} clusters; converged ${convergedMs} ms after it resumed\n`);
});
