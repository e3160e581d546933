// A large cluster, made cheap: a Temporal server of the test's own refuses payloads over 256 KiB
// (the real limit is 2 MiB) and suggests continue-as-new early, so a 100-node Kafka-like cluster
// (21 shard copies per node) crosses every size limit a 2,000-node one would. Its first refresh
// arrives whole and in order, its quiet refreshes record little, large payloads go through the
// store (External Storage), continue-as-new carries the view, the view query answers in pages.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { payloadCollections } from '../../src/adapters/payload-store.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { refreshNowUpdate, viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { localActivityType } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const nodes = 100;
const partitions = 700;
const blobLimitBytes = 256 * 1024;

let temporalServer: IsolatedService;
let fixture: RefresherFixture | undefined;
let reader: TopicReader | undefined;
let store: ClusterStore | undefined;
let config: ReturnType<typeof testConfig>;

before(async () => {
  const port = await freePort();
  temporalServer = isolatedService('temporal', {
    FLEETVIEW_TEMPORAL_PORT: String(port),
    FLEETVIEW_TEMPORAL_UI_PORT: String(await freePort()),
    FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG: `limit.blobSize.error=${blobLimitBytes} limit.blobSize.warn=${64 * 1024} limit.historyCount.suggestContinueAsNew=60`,
  });
  temporalServer.start();
  config = testConfig({ FLEETVIEW_TEMPORAL_ADDRESS: `127.0.0.1:${port}`, FLEETVIEW_TEMPORAL_PAYLOAD_OFFLOAD_BYTES: String(32 * 1024), FLEETVIEW_AGENT_TIMEOUT_MS: '5000' });
  store = await createClusterStore(config.mongodb);
  // A store touch at every refresh: a quiet refresh then rewrites the cluster document's summary only.
  fixture = await startRefresherFixture(config, { nodes, kinds: ['kafka'], partitions, idPrefix: `${uniqueName('large')}-` }, { store_touch_s: 1 });
  // The worker creates the topic; the reader reads it from the beginning.
  reader = await new TopicReader(config).start({ waitForTopicMs: 60_000 });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the refresher fixture': () => fixture?.close(),
      'stopping the topic reader': () => reader?.stop(),
      'closing the store': () => store?.close(),
      'stopping the isolated Temporal server': () => temporalServer?.dispose(),
    }),
  cleanupBound,
);

/** Every payload of the history, with the event it belongs to. */
function payloadSizes(history: Awaited<ReturnType<RefresherFixture['handle']['fetchHistory']>>): Array<{ eventId: string; bytes: number }> {
  const sizes: Array<{ eventId: string; bytes: number }> = [];
  for (const event of history.events ?? []) {
    JSON.stringify(event, (key, value: unknown) => {
      if (value && typeof value === 'object' && 'data' in value && 'metadata' in value) {
        const data = (value as { data?: Uint8Array | null }).data;
        sizes.push({ eventId: String(event.eventId), bytes: data?.length ?? 0 });
      }
      return value;
    });
  }
  return sizes;
}

it('refreshes a cluster past every payload limit: the first refresh whole and in order, quiet ones small, continue-as-new through the store', async () => {
  const { handle, sim } = fixture!;
  const clusterId = sim.records()[0]!.cluster_id;

  const firstRunId = (await handle.describe()).runId;
  // The first refresh runs at start: every one of its events, in order, once.
  const first = await handle.executeUpdate(refreshNowUpdate);
  // CLUSTER_STATUS_CHANGED ends a refresh's events.
  await reader!.waitFor((events) => events.some((e) => e.cluster_id === clusterId && e.generation === 1 && e.event === 'CLUSTER_STATUS_CHANGED'), 120_000);
  const generationOne = reader!.received.map((r) => r.event).filter((e) => e.cluster_id === clusterId && e.generation === 1);
  const ids = generationOne.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event of the first refresh arrived twice');
  assert.deepEqual(ids, ids.map((_, index) => `${clusterId}/1/${index}`), 'the first refresh arrived in order, without gaps');
  assert.equal(generationOne.at(-1)?.event, 'CLUSTER_STATUS_CHANGED', 'and whole: its last event came');
  assert.equal(generationOne.filter((e) => e.event === 'SHARD_ALLOCATION_NEW').length, partitions * 3, 'one SHARD_ALLOCATION_NEW per shard copy');
  assert.ok(first.generation >= 2);

  // Quiet refreshes: nothing new, little history; the store touched (summary only).
  const documentsBefore = await store!.db.collection('shards').countDocuments({ cluster_id: clusterId });
  let quiet = first;
  let touches = 0;
  // Each quiet refresh a second or more after the last store write touches it.
  for (let i = 0; i < 50 && touches < 2; i++) {
    quiet = await handle.executeUpdate(refreshNowUpdate);
    assert.equal(quiet.events_emitted, 0);
    if (quiet.store === 'written') touches += 1;
  }
  assert.equal(touches, 2, 'quiet refreshes touched the store');
  const [touched] = (await store!.listClusters()).filter((c) => c.cluster_id === clusterId);
  assert.equal(touched?.generation, quiet.generation, 'the touch wrote the newest summary');
  assert.equal(await store!.db.collection('shards').countDocuments({ cluster_id: clusterId }), documentsBefore);
  assert.equal(documentsBefore, partitions * 3, 'every shard copy was stored');
  // The first run's history: its full observation, then quiet ones (touches may have ended it early).
  const history = await fixture!.temporal.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
  const observations = (history.events ?? []).filter((event) => localActivityType(event) === 'observeClusterChanges');
  assert.ok(observations.length >= 2, `${observations.length} observations in the first run`);
  const quietMarkers = observations.slice(1).map((event) => JSON.stringify(event).length);
  for (const size of quietMarkers) assert.ok(size < 16 * 1024, `a quiet refresh's observation recorded ${size} bytes`);
  for (const { eventId, bytes } of payloadSizes(history)) assert.ok(bytes < 64 * 1024, `event ${eventId} holds a ${bytes}-byte payload in history`);
  const stored = await store!.db.collection(payloadCollections.heads).countDocuments({ workflow_id: handle.workflowId, run_id: firstRunId });
  assert.ok(stored >= 1, 'the full observation went to the store');

  // A broker's datastore goes down: NODE_DOWN, and its partitions lose their leader.
  const response = await fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/n1/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datastore: 'down' }) });
  assert.equal(response.status, 200);
  const down = await handle.executeUpdate(refreshNowUpdate);
  assert.ok(down.events_emitted >= 2);
  await reader!.waitFor((events) => events.some((e) => e.cluster_id === clusterId && e.generation === down.generation && e.event === 'NODE_DOWN'), 30_000);

  // Continue-as-new (suggested after 60 history events) carries the view through the store; the
  // new run starts from a full observation and finds nothing new.
  const runIds = new Set([(await handle.describe()).runId]);
  let last = down;
  for (let i = 0; i < 10 && runIds.size < 2; i++) {
    last = await handle.executeUpdate(refreshNowUpdate);
    runIds.add((await handle.describe()).runId);
  }
  assert.ok(runIds.size >= 2, 'the workflow continued as new');
  const after = await handle.executeUpdate(refreshNowUpdate);
  assert.equal(after.generation, last.generation + 1);
  assert.equal(after.events_emitted, 0, 'the carried view matches the cluster');

  // The view query answers a page, far under the payload limit, and filters.
  const page = await handle.query(viewQuery);
  assert.equal(page.page?.members_total, nodes);
  assert.ok(JSON.stringify(page).length < Math.min(blobLimitBytes, 128 * 1024), `the view query answered ${JSON.stringify(page).length} bytes`);
  assert.deepEqual([page.record.nodes.length, page.record_nodes_total], [50, nodes], 'the record is paged too');
  assert.equal(page.view?.nodes_down, 1);
  const one = await handle.query(viewQuery, { node: page.view.members[0]!.address });
  assert.deepEqual(one.view?.members.map((m) => m.address), [page.view.members[0]!.address]);
});
