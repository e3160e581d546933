// Operators steer one running cluster on the real services (a Temporal of the test's own, so its
// runs continue as new every few refreshes): a default applied without a restart, an operator's
// interval seen in the refresh spacing, a pause during which no agent request reaches the sim and
// which outlives a SIGKILLed worker, a maintenance window whose events are marked until it ends by
// itself, a workflow terminated and started again that keeps its pause, and every action's audit
// event on the topic, valid against the published schema.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { eventSchemaProblems } from '../../src/adapters/event-schema.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { defaultsUpdate, maintenanceUpdate, pauseUpdate, refreshNowByUpdate, resumeUpdate, settingsUpdate, viewQuery, type ViewQueryResult } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { waitUntil } from '../helpers/polling.js';
import { servicesEnv } from '../helpers/services-env.js';
import { connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { spawnWorkerProcess } from '../helpers/worker.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

let temporalServer: IsolatedService;
let config: ReturnType<typeof testConfig>;
let sim: SimHandle;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let reader: TopicReader;
let handle: WorkflowHandle<typeof clusterRefresh> | undefined;
const workers: ChildProcess[] = [];
const actor = { user: 'alice', identity: 'operator-controls-test' };

function startWorkerProcess(): ChildProcess {
  const child = spawnWorkerProcess(config, { FLEETVIEW_METRICS_PORT: '0' });
  workers.push(child);
  return child;
}

before(async () => {
  const port = await freePort();
  temporalServer = isolatedService('temporal', { FLEETVIEW_TEMPORAL_PORT: String(port), FLEETVIEW_TEMPORAL_UI_PORT: String(await freePort()) });
  temporalServer.start();
  config = testConfig({ FLEETVIEW_TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  sim = await startSim({ clusters: 1, nodes: 2, idPrefix: `${uniqueName('controls')}-` });
  temporal = await connectClient(config);
  // The worker creates the topic the reader waits for.
  startWorkerProcess();
  reader = await new TopicReader(config).start({ waitForTopicMs: 90_000 });
}, setupBound);

after(
  () =>
    cleanUp({
      'terminating the workflow': () => handle && terminateQuietly(handle),
      'killing the workers': () => {
        for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      'stopping the topic reader': () => reader?.stop(),
      'closing the client': () => temporal?.close(),
      'stopping the sim': () => sim?.close(),
      'stopping the isolated Temporal server': () => temporalServer?.dispose(),
    }),
  cleanupBound,
);

const clusterId = () => sim.records()[0]!.cluster_id;
const view = (timeoutMs: number, what: string, accept: (q: ViewQueryResult) => boolean) => waitForView(handle!, accept, timeoutMs, what);
const agentRequests = () => [...sim.fleet.cluster(clusterId()).nodes.values()].reduce((sum, node) => sum + node.requests.agent_info + node.requests.datastore_info + node.requests.shards, 0);
const ours = (events: FleetEvent[]) => events.filter((event) => event.cluster_id === clusterId());
const audit = (events: FleetEvent[]) => ours(events).filter((event) => event.id.includes('/control/'));

/** Refresh start times (ms) seen by polling the view until `count` refreshes after `sinceGeneration`. */
async function refreshStarts(sinceGeneration: number, count: number, timeoutMs: number): Promise<number[]> {
  const starts = new Map<number, number>();
  await view(timeoutMs, `${count} refreshes after generation ${sinceGeneration}`, (q) => {
    const report = q.last_report;
    if (report && report.generation > sinceGeneration) starts.set(report.generation, Date.parse(report.started_at));
    return starts.size >= count;
  });
  return [...starts.entries()].sort(([a], [b]) => a - b).map(([, ms]) => ms);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const gaps = (starts: number[]) => starts.slice(1).map((ms, i) => ms - starts[i]!);

it('steers a running cluster: defaults, an override, pause, maintenance, through a worker kill, continue-as-new and a restart', async () => {
  const record = sim.records()[0]!;
  // A 20 s default, and a new run every 6 refreshes: the controls must survive continue-as-new.
  handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${record.cluster_id}`,
    args: [{ ...record, refresh_interval_s: 20, max_refreshes_per_run: 6 }],
  });
  const first = await view(60_000, 'the first refresh', (q) => (q.view?.generation ?? 0) >= 1);
  assert.deepEqual(first.controls?.settings.refresh_interval_s, { value: 20, source: 'default' });
  const firstRunId = (await handle.describe()).runId;

  // 1. A new default reaches the running workflow (what `fleetview settings apply` sends).
  const applied = await handle.executeUpdate(defaultsUpdate, { args: [{ defaults: { refresh_interval_s: 3 }, actor }] });
  assert.equal(applied.changed, true);
  assert.equal(applied.recorded, true);
  assert.deepEqual(applied.settings.refresh_interval_s, { value: 3, source: 'default' });

  // 2. The operator's override, shorter: at once, seen in the spacing of refreshes.
  const before = (await handle.query(viewQuery)).last_report!.generation;
  const set = await handle.executeUpdate(settingsUpdate, { args: [{ set: { refresh_interval_s: 1 }, actor }] });
  assert.deepEqual(set.settings.refresh_interval_s, { value: 1, source: 'operator' });
  const fast = gaps(await refreshStarts(before + 1, 6, 60_000));
  assert.ok(median(fast) >= 700 && median(fast) <= 1_600, `refreshes 1 s apart after the override, got gaps ${fast.join(', ')} ms`);

  // A bad value is refused naming the field and value, and changes nothing.
  await assert.rejects(
    handle.executeUpdate(settingsUpdate, { args: [{ set: { refresh_interval_s: -5 }, actor }] }),
    (err: unknown) => err instanceof WorkflowUpdateFailedError && /refresh_interval_s must be an integer from 1 to 86400, got -5/.test(String((err.cause as Error)?.message)),
  );
  assert.deepEqual((await handle.query(viewQuery)).controls?.settings.refresh_interval_s, { value: 1, source: 'operator' });

  // 3. Pause: no agent request reaches the sim, also after the worker is SIGKILLed and replaced.
  const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'disk replacement', actor }] });
  // This run holds the pause, the refused refresh, the worker's death and the resume: the history the replay test keeps.
  const pausedRunId = (await handle.describe()).runId;
  assert.equal(paused.pause?.reason, 'disk replacement');
  await view(30_000, 'the refresh under way to finish', (q) => q.phase === 'waiting');
  const requestsAtPause = agentRequests();
  await assert.rejects(
    handle.executeUpdate(refreshNowByUpdate, { args: [{ actor }] }),
    (err: unknown) => err instanceof WorkflowUpdateFailedError && /is paused since .* by alice: disk replacement; resume it first/.test(String((err.cause as Error)?.message)),
  );
  workers[0]!.kill('SIGKILL');
  startWorkerProcess();
  await view(60_000, 'the new worker to answer, still paused', (q) => q.controls?.pause?.reason === 'disk replacement');
  // Three intervals of the override pass with no request.
  const pausedAt = Date.now();
  await waitUntil(() => Date.now() - pausedAt >= 3_000 || agentRequests() !== requestsAtPause, 10_000, 'three seconds');
  assert.equal(agentRequests(), requestsAtPause, 'no agent request while paused');
  const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ actor }] });
  assert.equal(resumed.pause, null);
  await waitUntil(() => agentRequests() > requestsAtPause, 30_000, 'agent requests again after the resume');

  // 4. Maintenance: a node down inside the window is marked (value and header); after it ends by itself, not.
  const window = await handle.executeUpdate(maintenanceUpdate, { args: [{ reason: 'kernel upgrade', for_s: 6, actor }] });
  assert.ok(window.maintenance?.until);
  const node = [...sim.fleet.cluster(clusterId()).nodes.values()][1]!;
  sim.fleet.setState(clusterId(), node.name, { datastore: 'down' });
  const down = await reader.waitFor((events) => ours(events).some((e) => e.event === 'NODE_DOWN'), 30_000);
  const nodeDown = ours(down).find((e) => e.event === 'NODE_DOWN')!;
  assert.deepEqual(nodeDown.maintenance, { until: window.maintenance.until, reason: 'kernel upgrade' });
  assert.equal(reader.received.find((r) => r.event.id === nodeDown.id)?.headers['fleetview-maintenance'], window.maintenance.until);
  await reader.waitFor((events) => ours(events).some((e) => e.event === 'CLUSTER_MAINTENANCE_ENDED'), 30_000);
  sim.fleet.setState(clusterId(), node.name, { datastore: 'up' });
  const up = await reader.waitFor((events) => ours(events).some((e) => e.event === 'NODE_UP'), 30_000);
  assert.equal(ours(up).find((e) => e.event === 'NODE_UP')!.maintenance, undefined, 'no mark after the window');

  // 5. Unset: back to the applied default; a forced refresh names its operator.
  const unset = await handle.executeUpdate(settingsUpdate, { args: [{ unset: ['refresh_interval_s'], actor }] });
  assert.deepEqual(unset.settings.refresh_interval_s, { value: 3, source: 'default' });
  await handle.executeUpdate(refreshNowByUpdate, { args: [{ actor }] });

  // Several runs by now, each carrying the controls on.
  const { runId } = await handle.describe();
  assert.notEqual(runId, firstRunId, 'the workflow continued as new');

  // 6. Terminated and started again: the pause is read back from the store.
  await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'before a restart', for_s: 3600, actor }] });
  await handle.terminate('operator-controls test: a restart');
  handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${record.cluster_id}`,
    args: [{ ...record, refresh_interval_s: 20 }],
  });
  await view(60_000, 'the restarted workflow to resume its pause', (q) => q.controls?.pause?.reason === 'before a restart');
  await handle.executeUpdate(resumeUpdate, { args: [{ actor }] });

  // Every action's audit event, in order, with its actor, valid against the schema.
  const codes = [
    'CLUSTER_SETTINGS_CHANGED',
    'CLUSTER_SETTINGS_CHANGED',
    'CLUSTER_PAUSED',
    'CLUSTER_RESUMED',
    'CLUSTER_MAINTENANCE_STARTED',
    'CLUSTER_MAINTENANCE_ENDED',
    'CLUSTER_SETTINGS_CHANGED',
    'CLUSTER_REFRESH_REQUESTED',
    'CLUSTER_PAUSED',
    'CLUSTER_RESUMED',
  ];
  const events = audit(await reader.waitFor((all) => audit(all).length >= codes.length, 30_000));
  assert.deepEqual(events.map((e) => e.event), codes);
  for (const event of events) assert.deepEqual(eventSchemaProblems(event), [], `${event.id} is valid`);
  const byCode = (code: string, nth = 0) => events.filter((e) => e.event === code)[nth]!.payload as unknown as Record<string, unknown>;
  assert.deepEqual(byCode('CLUSTER_SETTINGS_CHANGED', 0), {
    actor,
    layer: 'default',
    changes: [{ setting: 'refresh_interval_s', before: { value: 20, source: 'default' }, after: { value: 3, source: 'default' } }],
  });
  assert.equal((byCode('CLUSTER_SETTINGS_CHANGED', 1).changes as unknown[]).length, 1);
  assert.deepEqual(byCode('CLUSTER_MAINTENANCE_ENDED'), { window: window.maintenance, ended_by: null, why: 'expired' });
  assert.deepEqual((byCode('CLUSTER_RESUMED') as { ended_by: unknown }).ended_by, actor);
  assert.deepEqual(byCode('CLUSTER_REFRESH_REQUESTED'), { actor, wait: true });
  // Ids never repeat across runs and the restart.
  assert.equal(new Set(events.map((e) => e.id)).size, events.length);

  if (process.env.FLEETVIEW_RECORD_HISTORIES === '1') {
    // Closed by now (it continued as new after the resume): the temporal CLI's JSON, as the replay test reads it.
    const shown = execFileSync(
      servicesEnv().FLEETVIEW_TEMPORAL_CLI!,
      ['workflow', 'show', '--workflow-id', handle.workflowId, '--run-id', pausedRunId, '-o', 'json', '--address', config.temporal.address, '--namespace', config.temporal.namespace],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    writeFileSync(new URL('../replay/histories/cluster-controls-scenario.json', import.meta.url), shown);
  }
});
