// The cluster refresh workflow on the real services, driven against the simulated fleet:
// a scripted scenario read back from Kafka, MongoDB and the view query; the ID lock; serial
// refreshes and coalescing; the Temporal CLI; kcat as an independent reader of the topic.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { materialViewKey } from '../../src/domain/material-view.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { nodesSignal, refreshNowUpdate, refreshSignal, viewQuery, type DiscoveryRecordInput } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { servicesEnv } from '../helpers/services-env.js';
import { connectClient, historyOfAllRuns, localActivityType, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { uniqueName } from '../helpers/unique.js';

const run = promisify(execFile);
const config = testConfig();
const idPrefix = `${uniqueName('e2e')}-`;

let sim: SimHandle;
let worker: TestWorker;
let reader: TopicReader;
let store: ClusterStore;
let temporal: Awaited<ReturnType<typeof connectClient>>;
const started: WorkflowHandle[] = [];

async function admin(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(response.status, 200, `${path}: ${await response.text()}`);
}

function startRefresher(clusterId: string, extra: Record<string, unknown> = {}) {
  const record = sim.records().find((r) => r.cluster_id === clusterId);
  assert.ok(record, `the sim has no cluster ${clusterId}`);
  return temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${clusterId}`,
    args: [{ ...record, refresh_interval_s: 3600, ...extra }],
  });
}

before(async () => {
  sim = await startSim({ clusters: 3, nodes: 3, idPrefix });
  store = await createClusterStore(config.mongodb);
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  reader = await new TopicReader(config).start();
}, setupBound);

after(
  () =>
    cleanUp({
      'terminating the cluster workflows': async () => {
        for (const handle of started) await terminateQuietly(handle);
      },
      'stopping the topic reader': () => reader?.stop(),
      'stopping the worker': () => worker?.stop(),
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => store?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => store?.close(),
      'stopping the sim': () => sim?.close(),
    }),
  cleanupBound,
);

describe('cluster refresh workflow', () => {
  it('turns a scripted scenario into exactly the expected events, in Kafka, MongoDB and the view', async () => {
    const clusterId = `${idPrefix}mongo-0`;
    const nodeId = (name: string) => sim.fleet.node(clusterId, name).nodeId;
    const handle = await startRefresher(clusterId);
    started.push(handle);
    const expected: Array<[FleetEvent['event'], string | null]> = [];
    const step = async (change: () => Promise<void>, events: Array<[FleetEvent['event'], string | null]>) => {
      await change();
      const report = await handle.executeUpdate(refreshNowUpdate);
      assert.equal(report.events_emitted, events.length, `events of generation ${report.generation}`);
      expected.push(...events);
    };
    const nodeState = (name: string, state: Record<string, string>) => admin(`/admin/clusters/${clusterId}/nodes/${name}/state`, state);

    // Generation 1, the refresh at start: every node is new. (A refreshNow sent during it would
    // rightly wait for a refresh that starts after the request.)
    await waitForView(handle, (q) => (q.last_report?.generation ?? 0) >= 1, 30_000, 'the first refresh did not complete');
    const initial: Array<[FleetEvent['event'], string | null]> = [
      ...['n1', 'n2', 'n3'].flatMap((n): Array<[FleetEvent['event'], string]> => [
        ['AGENT_NEW', nodeId(n)],
        ['AGENT_INFO_NEW', nodeId(n)],
        ['NODE_NEW', nodeId(n)],
        ['SHARD_ALLOCATION_NEW', nodeId(n)],
      ]),
      ['CLUSTER_STATUS_CHANGED', null],
    ];
    assert.equal((await handle.query(viewQuery)).last_report?.events_emitted, initial.length);
    expected.push(...initial);
    await step(() => nodeState('n2', { agent: 'down' }), [['AGENT_DOWN', nodeId('n2')], ['CLUSTER_STATUS_CHANGED', null]]);
    await step(() => nodeState('n2', { agent: 'up' }), [['AGENT_UP', nodeId('n2')], ['CLUSTER_STATUS_CHANGED', null]]);
    await step(() => nodeState('n3', { datastore: 'down' }), [['NODE_DOWN', nodeId('n3')], ['CLUSTER_STATUS_CHANGED', null]]);
    await step(() => nodeState('n3', { datastore: 'up' }), [['NODE_UP', nodeId('n3')], ['CLUSTER_STATUS_CHANGED', null]]);
    await step(() => admin(`/admin/clusters/${clusterId}/failover`, { to: 'n2' }), [
      ['SHARD_ALLOCATION_CHANGED', nodeId('n1')],
      ['SHARD_ALLOCATION_CHANGED', nodeId('n2')],
      ['SHARD_PRIMARY_CHANGED', null],
    ]);
    await step(() => nodeState('n3', { version: '7.0.99' }), [['NODE_CHANGED', nodeId('n3')]]);
    // Nothing changed: a refresh emits nothing.
    await step(async () => {}, []);

    const events = (await reader.waitFor((all) => all.filter((e) => e.cluster_id === clusterId).length >= expected.length)).filter(
      (e) => e.cluster_id === clusterId,
    );
    assert.deepEqual(
      events.map((e) => [e.event, e.node_id]),
      expected,
    );
    // Ids are <cluster>/<generation>/<index>, the index restarting at 0 with each generation.
    const indexByGeneration = new Map<number, number>();
    for (const event of events) {
      const index = indexByGeneration.get(event.generation) ?? 0;
      assert.equal(event.id, `${clusterId}/${event.generation}/${index}`);
      indexByGeneration.set(event.generation, index + 1);
    }
    const messages = reader.received.filter((r) => r.event.cluster_id === clusterId);
    for (const message of messages) {
      assert.equal(message.key, clusterId);
      assert.equal(message.headers['event-id'], message.event.id);
      assert.equal(message.headers.ce_id, message.event.id);
      assert.equal(message.headers.ce_specversion, '1.0');
      assert.equal(message.headers.ce_type, `io.fleetview.${message.event.event}`);
      assert.equal(message.headers.ce_time, message.event.timestamp);
    }

    // MongoDB holds the final state of every node, and the view query agrees with it.
    const nodes = await store.db.collection('nodes').find({ cluster_id: clusterId }).sort({ address: 1 }).toArray();
    assert.deepEqual(
      nodes.map((n): unknown[] => [n.node_id, (n.status as { code: string }).code, n.version]),
      [
        [nodeId('n1'), 'UP', sim.fleet.node(clusterId, 'n1').state.version],
        [nodeId('n2'), 'UP', sim.fleet.node(clusterId, 'n2').state.version],
        [nodeId('n3'), 'UP', '7.0.99'],
      ],
    );
    // The quiet last refresh wrote nothing: the stored view is the one of the last change,
    // materially the same as the current one.
    const queried = await handle.query(viewQuery);
    const stored = await store.loadView(clusterId);
    assert.equal(queried.last_report?.store, 'unchanged');
    assert.equal(stored?.generation, 7);
    assert.equal(queried.stored_generation, 7);
    assert.equal(materialViewKey(stored), materialViewKey(queried.view!));
    assert.equal(queried.view?.shards[0]?.primary?.node_id, nodeId('n2'));
    assert.equal(queried.last_report?.generation, 8);

    if (process.env.FLEETVIEW_RECORD_HISTORIES === '1') {
      // The temporal CLI's JSON is the format historyFromJSON reads back in the replay test.
      const shown = execFileSync(
        servicesEnv().FLEETVIEW_TEMPORAL_CLI!,
        ['workflow', 'show', '--workflow-id', handle.workflowId, '-o', 'json', '--address', config.temporal.address, '--namespace', config.temporal.namespace],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      writeFileSync(new URL('../replay/histories/cluster-refresh-scenario.json', import.meta.url), shown);
    }
  });

  it('is its own lock: starting the same cluster again never makes a second execution', async () => {
    const clusterId = `${idPrefix}kafka-1`;
    const handle = await startRefresher(clusterId);
    started.push(handle);
    await handle.executeUpdate(refreshNowUpdate);
    await assert.rejects(startRefresher(clusterId), WorkflowExecutionAlreadyStartedError);
    // Signal-with-start, as discovery uses it, reaches the running execution instead.
    const again = await temporal.client.workflow.signalWithStart<typeof clusterRefresh, []>('clusterRefresh', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `cluster/${clusterId}`,
      args: [{ ...sim.records().find((r) => r.cluster_id === clusterId)!, refresh_interval_s: 3600 }],
      signal: refreshSignal,
      signalArgs: [],
    });
    assert.equal(again.signaledRunId, (await handle.describe()).runId);
    const running = await temporal.client.workflow.count(`WorkflowId = 'cluster/${clusterId}' AND ExecutionStatus = 'Running'`);
    assert.equal(running.count, 1);
  });

  it('continues from the stored view when a cluster workflow starts anew: no repeated ids, no false NEW events', async () => {
    const clusterId = `${idPrefix}kafka-1`;
    const old = temporal.client.workflow.getHandle(`cluster/${clusterId}`);
    const before = await old.executeUpdate(refreshNowUpdate);
    await old.terminate('simulating an operator who terminated the refresher');
    // The store holds the view of the last change (quiet refreshes write nothing), so the new
    // workflow goes on from there: the refreshes after it published no event, so no id repeats.
    const stored = await store.loadView(clusterId);
    assert.ok(stored !== null && stored.generation <= before.generation);
    const handle = await startRefresher(clusterId);
    started.push(handle);
    const view = await waitForView(handle, (q) => q.last_report !== null, 20_000, 'the new workflow did not refresh');
    assert.equal(view.last_report?.generation, stored.generation + 1);
    const published = reader.unique().filter((e) => e.cluster_id === clusterId);
    assert.ok(published.length > 0);
    for (const event of published) assert.ok(event.generation <= stored.generation, `event ${event.id} is newer than the stored view`);
    assert.equal(view.last_report?.events_emitted, 0, 'nothing changed on the nodes, so nothing is new');
  });

  it('refreshes strictly one at a time and coalesces concurrent force refreshes', async () => {
    const clusterId = `${idPrefix}zk-2`;
    const handle = await startRefresher(clusterId);
    started.push(handle);
    const first = await handle.executeUpdate(refreshNowUpdate);
    // Slow agents stretch the next refresh so the requests below arrive while it runs.
    await admin(`/admin/clusters/${clusterId}/nodes/n1/state`, { agent: 'slow' });
    const updates = [handle.executeUpdate(refreshNowUpdate), handle.executeUpdate(refreshNowUpdate), handle.executeUpdate(refreshNowUpdate)];
    await Promise.all([handle.signal(refreshSignal), handle.signal(refreshSignal)]);
    const reports = await Promise.all(updates);
    await admin(`/admin/clusters/${clusterId}/nodes/n1/state`, { agent: 'up' });
    const done = await handle.query(viewQuery);
    // The first request starts one refresh; everything arriving during it coalesces into one more.
    const generationsAdded = (done.view?.generation ?? 0) - first.generation;
    assert.ok(generationsAdded >= 1 && generationsAdded <= 2, `expected 1 or 2 refreshes, saw ${generationsAdded}`);
    for (const report of reports) assert.ok(report.generation > first.generation);

    // History proves serial refreshes: every refresh is its own observation marker, and the
    // markers of one workflow task never hold two observations (a refresh ends before the next).
    let refreshesSeen = 0;
    let observationsInTask = 0;
    for (const event of await historyOfAllRuns(temporal.client, handle.workflowId)) {
      if (event.workflowTaskCompletedEventAttributes) observationsInTask = 0;
      const activityType = localActivityType(event);
      if (activityType === 'observeClusterChanges') {
        refreshesSeen += 1;
        observationsInTask += 1;
        assert.equal(observationsInTask, 1, 'two observations were recorded in one workflow task');
      }
      // Regular activities only hold events while Kafka is down; Kafka is up here.
      assert.equal(event.activityTaskScheduledEventAttributes?.activityType?.name, undefined, 'a regular activity was scheduled');
    }
    assert.equal(refreshesSeen, done.view?.generation);
  });

  it('takes a new node list by signal and refreshes at once', async () => {
    const clusterId = `${idPrefix}mongo-0`;
    const handle = temporal.client.workflow.getHandle(`cluster/${clusterId}`);
    const before = await handle.query(viewQuery);
    const record = sim.records().find((r) => r.cluster_id === clusterId)!;
    await handle.signal(nodesSignal, { ...record, nodes: record.nodes.slice(0, 2) });
    const view = await waitForView(handle, (q) => (q.view?.generation ?? 0) > (before.view?.generation ?? 0), 20_000, 'no refresh after the nodes signal');
    assert.equal(view.record.nodes.length, 2);
    // The dropped node is leaving (kept for the grace period), not counted.
    assert.equal(view.view?.nodes, 2);
    assert.ok(view.view?.members.some((m) => m.left_discovery_at !== null));
  });

  it('applies a nodes signal sent together with the start (signal-with-start)', async () => {
    const clusterId = `${idPrefix}mongo-3`;
    const record: DiscoveryRecordInput = { cluster_id: clusterId, nodes: sim.records().find((r) => r.cluster_id === `${idPrefix}mongo-0`)!.nodes };
    const handle = await temporal.client.workflow.signalWithStart<typeof clusterRefresh, [DiscoveryRecordInput]>('clusterRefresh', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `cluster/${clusterId}`,
      args: [{ ...record, refresh_interval_s: 3600 }],
      signal: nodesSignal,
      signalArgs: [{ ...record, nodes: record.nodes.slice(0, 1) }],
    });
    started.push(handle);
    const view = await waitForView(handle, (q) => (q.view?.generation ?? 0) >= 1, 20_000, 'no first refresh');
    assert.equal(view.record.nodes.length, 1, 'the signal delivered with the start must not be dropped');
  });

  it('is driven by the real temporal CLI, and its events are read by kcat', async () => {
    const env = servicesEnv();
    const cli = env.FLEETVIEW_TEMPORAL_CLI!;
    const clusterId = `${idPrefix}kafka-4`;
    const record = sim.records().find((r) => r.cluster_id === `${idPrefix}kafka-1`)!;
    // The nodes of another cluster under a new id: each datastore reports a different cluster
    // id, so every node is NODE_DOWN, which is still a full refresh with events.
    const input = JSON.stringify({ cluster_id: clusterId, display_name: 'CLI started', nodes: record.nodes, refresh_interval_s: 3600 });
    // Asynchronously: the worker runs in this process and must keep answering while the CLI waits.
    const temporalCli = async (...args: string[]) =>
      (await run(cli, [...args, '--address', config.temporal.address, '--namespace', config.temporal.namespace], { encoding: 'utf8' })).stdout;

    await temporalCli('workflow', 'start', '--type', 'clusterRefresh', '--task-queue', config.temporal.taskQueue, '--workflow-id', `cluster/${clusterId}`, '--input', input);
    started.push(temporal.client.workflow.getHandle(`cluster/${clusterId}`));
    const report = JSON.parse(await temporalCli('workflow', 'update', 'execute', '--workflow-id', `cluster/${clusterId}`, '--name', 'refreshNow', '-o', 'json')) as {
      result: { generation: number };
    };
    assert.ok(report.result.generation >= 1);
    await temporalCli('workflow', 'signal', '--workflow-id', `cluster/${clusterId}`, '--name', 'refresh');
    const queried = JSON.parse(await temporalCli('workflow', 'query', '--workflow-id', `cluster/${clusterId}`, '--name', 'view', '-o', 'json')) as {
      queryResult: Array<{ view: { cluster_id: string; display_name: string; nodes: number } }>;
    };
    assert.equal(queried.queryResult[0]?.view.cluster_id, clusterId);
    assert.equal(queried.queryResult[0]?.view.display_name, 'CLI started');
    const listed = await temporalCli('workflow', 'list', '--query', `ClusterId='${clusterId}'`, '-o', 'json');
    assert.match(listed, new RegExp(`"workflowId":\\s*"cluster/${clusterId}"`));

    // kcat, an independent client, reads the same events the workflow published.
    const { stdout: kcat } = await run(
      'kcat',
      ['-C', '-b', config.kafka.brokers[0]!, '-t', config.kafka.topic, '-o', 'beginning', '-e', '-q', '-f', '%k %h\n'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const lines = kcat.split('\n').filter((line) => line.startsWith(`${clusterId} `));
    assert.ok(lines.length >= 1, 'kcat read no event of the CLI-started cluster');
    assert.match(lines[0]!, new RegExp(`event-id=${clusterId}/1/0`));
  });
});
