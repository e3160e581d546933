// An event id names one event, ever. The two places where a refresh's events are out but its
// view is not yet saved: the workflow terminated there (a new one is started, as discovery
// does for a terminated refresher), and the worker killed there (the workflow task is retried).
// The store is frozen to hold each refresh at exactly that point: events published, save
// waiting. The sim then changes differently, so reused ids would carry different content.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { refreshSignal, type ViewQueryResult } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { assertNoIdReused } from '../helpers/event-order.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { spawnWorkerProcess } from '../helpers/worker.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

let store: IsolatedService;
let config: ReturnType<typeof testConfig>;
let sim: SimHandle;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let reader: TopicReader;
const workers: ChildProcess[] = [];
const handles: WorkflowHandle[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawnWorkerProcess(config);
  workers.push(child);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

before(async () => {
  const port = await freePort();
  store = isolatedService('store', { FLEETVIEW_MONGODB_PORT: String(port) });
  store.start();
  // The save waits for the frozen store longer than each test needs to act (and within the
  // commit's own 30 s), so the refresh sits between publish and save.
  config = testConfig({ FLEETVIEW_MONGODB_URI: `mongodb://127.0.0.1:${port}/`, FLEETVIEW_MONGODB_TIMEOUT_MS: '20000' });
  sim = await startSim({ clusters: 2, nodes: 3, idPrefix: `${uniqueName('ids')}-` });
  temporal = await connectClient(config);
  startWorkerProcess();
  // The worker creates the topic; the reader subscribes once it exists.
  reader = await new TopicReader(config).start({ waitForTopicMs: 60_000 });
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
      'killing the worker processes': async () => {
        for (const child of workers) await kill(child);
      },
      'stopping the topic reader': () => reader?.stop(),
      'closing the Temporal client': () => temporal?.close(),
      'stopping the sim': () => sim?.close(),
      'stopping the isolated store': () => store?.dispose(),
    }),
  cleanupBound,
);

const setState = async (clusterId: string, node: string, state: Record<string, string>) => {
  const answer = await fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/${node}/state`, { method: 'POST', body: JSON.stringify(state) });
  assert.equal(answer.status, 200, await answer.text());
};

const nodeName = (e: FleetEvent) => {
  const address = (e.payload as { address?: string }).address ?? '';
  return address.slice(address.lastIndexOf('/') + 1);
};

const statusOf = (q: ViewQueryResult, name: string) => q.view?.members.find((m) => m.address.endsWith(`/n/${name}`))?.status.code;

/** Every copy of every event of the cluster as received, grouped by id. */
function copiesById(clusterId: string): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const { event } of reader.received) {
    if (event.cluster_id !== clusterId) continue;
    byId.set(event.id, [...(byId.get(event.id) ?? []), JSON.stringify(event)]);
  }
  return byId;
}

const isNodeTransition = (e: FleetEvent) => e.event === 'NODE_UP' || e.event === 'NODE_DOWN';

/** Until the three transitions are in, or an id came with different content (then no wait is needed to fail). */
async function waitForTransitionsOrReuse(clusterId: string): Promise<void> {
  const reused = () => [...copiesById(clusterId).values()].some((copies) => new Set(copies).size > 1);
  await waitUntil(() => reused() || reader.unique().filter((e) => e.cluster_id === clusterId && isNodeTransition(e)).length >= 3, 30_000, 'the transitions did not arrive');
}

function assertNoIdReusedIn(clusterId: string): void {
  assertNoIdReused(reader.received.map(({ event }) => event).filter((event) => event.cluster_id === clusterId));
}

/** n1's fall (the event published before the fault), then n1 back and n2 down, each once. */
function assertTransitionsAfter(clusterId: string, published: FleetEvent): void {
  const transitions = reader.unique().filter((e) => e.cluster_id === clusterId && isNodeTransition(e));
  assert.equal(transitions[0]?.id, published.id);
  assert.deepEqual(
    transitions.slice(1).map((e) => [e.event, nodeName(e)]).sort(),
    [
      ['NODE_DOWN', 'n2'],
      ['NODE_UP', 'n1'],
    ],
  );
}

async function startRefresher(clusterId: string): Promise<WorkflowHandle<typeof clusterRefresh>> {
  const record = sim.records().find((r) => r.cluster_id === clusterId)!;
  const handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${clusterId}`,
    // Only forced refreshes: each one is a step of the test.
    args: [{ ...record, refresh_interval_s: 3600 }],
  });
  handles.push(handle);
  return handle;
}

/** Freezes the store, downs n1 and forces a refresh; returns once its NODE_DOWN is on the topic. */
async function publishWithSaveHeld(handle: WorkflowHandle<typeof clusterRefresh>, clusterId: string): Promise<FleetEvent> {
  await waitForView(handle, (q) => q.stored_generation === 1 && q.phase === 'waiting', 60_000, 'the first refresh was not stored');
  store.signal('SIGSTOP');
  await setState(clusterId, 'n1', { datastore: 'down' });
  await handle.signal(refreshSignal);
  const events = await reader.waitFor((all) => all.some((e) => e.cluster_id === clusterId && e.event === 'NODE_DOWN'), 30_000);
  return events.find((e) => e.cluster_id === clusterId && e.event === 'NODE_DOWN')!;
}

it('a workflow terminated after publishing, before saving: its successor uses new ids and repeats nothing', async () => {
  const clusterId = sim.records()[0]!.cluster_id;
  const first = await startRefresher(clusterId);
  const published = await publishWithSaveHeld(first, clusterId);
  await first.terminate('test: terminated between publish and save');
  // Its worker goes too (a deploy at the wrong moment): the save it still held never happens.
  for (const child of workers) await kill(child);
  store.signal('SIGCONT');
  // Different news for the successor: had it reused the generation, its ids would say otherwise.
  await setState(clusterId, 'n1', { datastore: 'up' });
  await setState(clusterId, 'n2', { datastore: 'down' });

  startWorkerProcess();
  const second = await startRefresher(clusterId);
  const resumed = await waitForView(second, (q) => statusOf(q, 'n2') === 'NODE_DOWN' && q.phase === 'waiting', 60_000, 'the successor did not refresh');
  assert.ok(resumed.view!.generation > published.generation, `successor at generation ${resumed.view!.generation}, published ${published.generation}`);
  await waitForTransitionsOrReuse(clusterId);

  assertNoIdReusedIn(clusterId);
  // The successor continued from what its predecessor published: n1's fall is not announced again.
  assertTransitionsAfter(clusterId, published);
});

it('a worker killed after publishing, before saving: the retried task sends the same events', async () => {
  const clusterId = sim.records()[1]!.cluster_id;
  const handle = await startRefresher(clusterId);
  const published = await publishWithSaveHeld(handle, clusterId);
  for (const child of workers) await kill(child);
  store.signal('SIGCONT');
  // A fresh observation now would differ: a retried task that re-observed would reuse the ids.
  await setState(clusterId, 'n1', { datastore: 'up' });
  await setState(clusterId, 'n2', { datastore: 'down' });
  startWorkerProcess();

  await waitForView(handle, (q) => (q.view?.generation ?? 0) >= published.generation && q.phase === 'waiting', 90_000, 'the killed refresh was not completed');
  await handle.signal(refreshSignal);
  await waitForView(handle, (q) => statusOf(q, 'n2') === 'NODE_DOWN' && statusOf(q, 'n1') === 'UP', 60_000, 'the next refresh did not see the new state');
  await waitForTransitionsOrReuse(clusterId);

  assertNoIdReusedIn(clusterId);
  assertTransitionsAfter(clusterId, published);
});
