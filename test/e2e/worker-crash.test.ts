// A worker process is killed (SIGKILL) in the middle of refreshes and a new one started:
// refreshing resumes, and the event stream neither loses nor invents a transition.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { viewQuery, type ViewQueryResult } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { assertRefreshIdsInOrder } from '../helpers/event-order.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { spawnWorkerProcess } from '../helpers/worker.js';
import { freePort } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig();
let sim: SimHandle;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let handle: WorkflowHandle<typeof clusterRefresh> | undefined;
const workers: ChildProcess[] = [];

function startWorkerProcess(metricsPort = 0): ChildProcess {
  const child = spawnWorkerProcess(config, { FLEETVIEW_METRICS_PORT: String(metricsPort) });
  workers.push(child);
  return child;
}

const until = (accept: (q: ViewQueryResult) => boolean, timeoutMs: number, what: string) => waitForView(handle!, accept, timeoutMs, what);

const statusOf = (q: ViewQueryResult, name: string) => q.view?.members.find((m) => m.address.endsWith(`/n/${name}`))?.status.code;

before(async () => {
  // A slow agent stretches every refresh to ~0.6 s, so a kill lands inside one.
  sim = await startSim({ clusters: 1, nodes: 3, idPrefix: `${uniqueName('crash')}-`, slowMs: 600 });
  temporal = await connectClient(config);
}, setupBound);

after(
  () =>
    cleanUp({
      'terminating the cluster workflow': async () => {
        if (handle) await terminateQuietly(handle);
      },
      'killing the worker processes': () => {
        for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      'closing the Temporal client': () => temporal?.close(),
      'stopping the sim': () => sim?.close(),
    }),
  cleanupBound,
);

it('resumes after a SIGKILL with no transition lost or invented', async () => {
  const record = sim.records()[0]!;
  const clusterId = record.cluster_id;
  const setState = (node: string, state: Record<string, string>) =>
    fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/${node}/state`, { method: 'POST', body: JSON.stringify(state) });
  await setState('n1', { agent: 'slow' });

  let worker = startWorkerProcess();
  handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${clusterId}`,
    args: [{ ...record, refresh_interval_s: 1 }],
  });
  await until((q) => (q.view?.generation ?? 0) >= 2, 60_000, 'the first worker did not refresh');

  await setState('n2', { agent: 'down' });
  // A refresh runs inside one workflow task (local activities), so no query sees it in flight:
  // the sim does. n1 answers after 600 ms, so a request reaching it means a refresh is under way.
  const killedDuring = await handle.query(viewQuery);
  const requestsBefore = sim.stats().nodeRequests;
  await waitUntil(() => sim.stats().nodeRequests > requestsBefore, 10_000, 'no refresh started');
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));
  // Changes while no worker runs (and no query can be answered).
  await setState('n3', { datastore: 'down' });
  const beforeRestart = killedDuring.view?.generation ?? 0;

  const metricsPort = await freePort();
  worker = startWorkerProcess(metricsPort);
  const resumed = await until((q) => (q.view?.generation ?? 0) > beforeRestart + 1 && statusOf(q, 'n2') === 'AGENT_DOWN' && statusOf(q, 'n3') === 'NODE_DOWN', 90_000, 'refreshing did not resume');
  await setState('n2', { agent: 'up' });
  const final = await until((q) => (q.view?.generation ?? 0) > resumed.view!.generation && statusOf(q, 'n2') === 'UP', 30_000, 'n2 did not come back');

  // One Prometheus endpoint: Temporal's runtime metrics and fleetview's own.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /^temporal_workflow_task_execution_latency\w*\{/m);
  assert.match(metrics, /^fleetview_refreshes\w*\{[^}]*\} [1-9]/m);
  assert.match(metrics, /^fleetview_node_fetch_failures\w*\{[^}]*status="AGENT_DOWN"[^}]*\} [1-9]/m);
  assert.match(metrics, /^fleetview_events_published\w*\{[^}]*\} [1-9]/m);
  assert.match(metrics, /^fleetview_refresh_duration_bucket\{/m);

  // SIGTERM drains the worker and closes its clients: a clean exit.
  worker.kill('SIGTERM');
  const exitCode = await new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  assert.equal(exitCode, 0);

  const reader = await new TopicReader(config).start();
  try {
    const events = await reader.waitFor((all) => all.some((e) => e.generation >= final.view!.generation), 30_000);
    const transitions = (events).filter((e) => ['AGENT_UP', 'AGENT_DOWN', 'NODE_UP', 'NODE_DOWN'].includes(e.event));
    const nodeName = (e: FleetEvent) => {
      const address = (e.payload as { address?: string }).address ?? '';
      return address.slice(address.lastIndexOf('/') + 1);
    };
    assert.deepEqual(
      transitions.map((e) => [e.event, nodeName(e)]),
      [
        ['AGENT_DOWN', 'n2'],
        ['NODE_DOWN', 'n3'],
        ['AGENT_UP', 'n2'],
      ],
    );
    // Ids dense per generation and generations only growing: nothing dropped, nothing reordered.
    assertRefreshIdsInOrder(events);
  } finally {
    await reader.stop();
  }
});
