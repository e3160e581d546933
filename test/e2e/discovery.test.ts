// The discovery workflow on the real services, against simulated fleets: each backend starts
// exactly one refresh workflow per cluster however often and concurrently discovery runs; a
// record change reaches the running workflow within one tick of the schedule; a failing source
// retires nothing; clusters and nodes no discovery lists any more are retired after the grace
// period, small changes on time, while a list that shrinks too much at once holds its
// retirements until it recovers or an operator releases them (the retirement guard). Runs are
// started by hand (client.workflow.execute) except where the schedule is the subject.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createDiscoveryStore, type DiscoveryStore } from '../../src/adapters/discovery-store/index.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import { discoveryScheduleOptions, ensureDiscoverySchedule, removeDiscoverySchedule } from '../../src/operations/index.js';
import { startSim, type SimDiscoveryRecord, type SimHandle } from '../../src/sim/index.js';
import type { ClusterRefreshResult } from '../../src/workflows/messages.js';
import { publishedGenerationMemo, viewQuery } from '../../src/workflows/messages.js';
import { expectExit, runFleetview } from '../helpers/cli.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { discoveryConfigEnv, discoverySetting, runDiscovery, runFailingDiscovery, startedChainCount } from '../helpers/discovery.js';
import { eventually } from '../helpers/polling.js';
import { servicesEnv } from '../helpers/services-env.js';
import { chainStartInput, connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { freePort } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig({
  FLEETVIEW_REFRESH_INTERVAL_S: '2',
  FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('discovery-schedule'),
  FLEETVIEW_DISCOVERY_TICK_S: '2',
  // The worker's Prometheus endpoint: the gauge of held retirements.
  FLEETVIEW_METRICS_PORT: String(await freePort()),
});

let worker: TestWorker;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let reader: TopicReader;
let mongo: ClusterStore;
let store: DiscoveryStore;
let dir: string;
const sims: SimHandle[] = [];

async function newSim(clusters: number, nodes: number, discoveryFile?: string): Promise<SimHandle> {
  const sim = await startSim({ clusters, nodes, idPrefix: `${uniqueName('disc')}-`, ...(discoveryFile ? { discoveryFile } : {}) });
  sims.push(sim);
  return sim;
}

const clusterHandle = (clusterId: string) => temporal.client.workflow.getHandle(`cluster/${clusterId}`);
const addresses = (record: { nodes: Array<string | { agent_address: string }> }) =>
  record.nodes.map((node) => (typeof node === 'string' ? node : node.agent_address)).sort();

function recordHistory(workflowId: string, file: string): void {
  if (process.env.FLEETVIEW_RECORD_HISTORIES !== '1') return;
  // The temporal CLI's JSON is the format historyFromJSON reads back in the replay test.
  const shown = execFileSync(
    servicesEnv().FLEETVIEW_TEMPORAL_CLI!,
    ['workflow', 'show', '--workflow-id', workflowId, '-o', 'json', '--address', config.temporal.address, '--namespace', config.temporal.namespace],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(new URL(`../replay/histories/${file}`, import.meta.url), shown);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-discovery-e2e-'));
  mongo = await createClusterStore(config.mongodb);
  store = createDiscoveryStore(mongo.db);
  await store.ensureIndexes();
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  reader = await new TopicReader(config).start();
}, setupBound);

after(
  () =>
    cleanUp({
      // Schedule and worker first: a discovery run in flight could otherwise start a refresher again
      // right after it is terminated.
      'removing the discovery schedule': async () => {
        if (temporal) await removeDiscoverySchedule(temporal.client, config.discovery.scheduleId, 'the test finished');
      },
      'stopping the topic reader': () => reader?.stop(),
      'stopping the worker': () => worker?.stop(),
      'terminating the cluster workflows': async () => {
        for (const sim of sims) {
          for (const record of sim.records()) await terminateQuietly(clusterHandle(record.cluster_id));
        }
      },
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => mongo?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => mongo?.close(),
      'stopping the sims': async () => {
        for (const sim of sims) await sim.close();
      },
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

describe('discovery from each backend', () => {
  for (const backend of ['file', 'http', 'http_sd'] as const) {
    it(`${backend}: starts exactly one refresh workflow per cluster, however often and concurrently discovery runs`, async () => {
      const discoveryFile = join(dir, `${backend}.json`);
      const sim = await newSim(2, 2, backend === 'file' ? discoveryFile : undefined);
      const name = uniqueName(backend);
      const options = backend === 'file' ? { path: discoveryFile } : { url: `${sim.url}/${backend === 'http' ? 'discovery' : 'http_sd'}` };
      await store.applySetting(discoverySetting({ name, backend, interval: 60, options }), new Date());
      const clusterIds = sim.records().map((record) => record.cluster_id);

      // Three runs at once: the discovery is claimed by exactly one of them.
      const concurrent = await Promise.all([1, 2, 3].map(() => runDiscovery(temporal.client, config)));
      const outcomes = concurrent.flatMap((run) => run.discoveries.filter((d) => d.discovery === name));
      assert.equal(outcomes.length, 1, 'one run claims a due discovery');
      assert.deepEqual(outcomes[0], { discovery: name, ok: true, clusters: 2, changed: 2, events: 2, problems: [], error: null });

      // Due again, twice, one after the other: nothing changed, so nothing is emitted.
      for (let i = 0; i < 2; i++) {
        await store.makeDue([name], new Date());
        const again = await runDiscovery(temporal.client, config);
        assert.deepEqual(
          again.discoveries.find((d) => d.discovery === name),
          { discovery: name, ok: true, clusters: 2, changed: 0, events: 0, problems: [], error: null },
        );
      }

      for (const record of sim.records()) {
        const workflowId = `cluster/${record.cluster_id}`;
        await eventually(`${workflowId}: one start ever (its runs continue as new)`, async () => (await startedChainCount(temporal.client, workflowId)) === 1 || undefined);
        assert.equal((await clusterHandle(record.cluster_id).describe()).status.name, 'RUNNING');
        const queried = await clusterHandle(record.cluster_id).query(viewQuery);
        assert.deepEqual(addresses(queried.record), addresses(record));
        // Started with two discovery intervals as the node grace period.
        assert.equal(queried.settings.node_retire_grace_s, 120);
      }

      const events = await reader.waitFor((all) => clusterIds.every((id) => all.some((e) => e.event === 'CLUSTER_NEW' && e.cluster_id === id)));
      for (const id of clusterIds) {
        const published = reader.received.filter((r) => r.event.event === 'CLUSTER_NEW' && r.event.cluster_id === id);
        assert.equal(published.length, 1, `${id}: CLUSTER_NEW published once`);
        const event = events.find((e) => e.event === 'CLUSTER_NEW' && e.cluster_id === id)!;
        assert.equal(event.id, `${id}/discovery/${name}@${event.timestamp}/CLUSTER_NEW`);
        assert.equal(event.generation, 0);
      }

      if (backend === 'http') {
        // A refresher that was terminated comes back at the next run, with its stored record.
        const [first] = clusterIds as [string];
        await clusterHandle(first).terminate('the test kills it');
        await store.makeDue([name], new Date());
        await runDiscovery(temporal.client, config);
        assert.equal((await clusterHandle(first).describe()).status.name, 'RUNNING');
        assert.equal(await eventually('two starts listed', async () => (await startedChainCount(temporal.client, `cluster/${first}`)) === 2 || undefined), true);
      }
      await store.deleteSetting(name);
    });
  }
});

describe('per-cluster settings', () => {
  it('starts a cluster with the refresh interval and agent timeout its record gives, others with the defaults', async () => {
    const sim = await newSim(2, 2);
    const [big, small] = sim.records();
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify([{ ...big, settings: { refresh_interval_s: 45, agent_timeout_ms: 2500 } }, small]));
    const name = uniqueName('settings');
    await store.applySetting(discoverySetting({ name, backend: 'file', interval: 60, options: { path: file } }), new Date());
    await runDiscovery(temporal.client, config);
    const bigSettings = (await clusterHandle(big!.cluster_id).query(viewQuery)).settings;
    assert.equal(bigSettings.refresh_interval_s, 45);
    assert.equal(bigSettings.agent_timeout_ms, 2500);
    const smallSettings = (await clusterHandle(small!.cluster_id).query(viewQuery)).settings;
    assert.equal(smallSettings.refresh_interval_s, config.refresh.intervalS);
    assert.equal(smallSettings.agent_timeout_ms, null);

    // A changed record setting reaches the running workflow: no restart, the discovery's layer.
    writeFileSync(file, JSON.stringify([{ ...big, settings: { refresh_interval_s: 90 } }, small]));
    await store.makeDue([name], new Date());
    await runDiscovery(temporal.client, config);
    const { controls } = await waitForView(clusterHandle(big!.cluster_id), (q) => q.controls?.settings.refresh_interval_s.value === 90, 30_000, 'the new record setting in the running workflow');
    assert.deepEqual(controls?.settings.refresh_interval_s, { value: 90, source: 'discovery' });
    assert.deepEqual(controls?.settings.agent_timeout_ms, { value: null, source: null });
    assert.equal((await clusterHandle(big!.cluster_id).describe()).status.name, 'RUNNING');
  });
});

describe('a failing source', () => {
  it('keeps its clusters refreshing from their last known records and retires nothing, past the grace period', async () => {
    const sim = await newSim(2, 2);
    const name = uniqueName('failing');
    const good = discoverySetting({ name, backend: 'http', interval: 1, options: { url: `${sim.url}/discovery` } });
    await store.applySetting(good, new Date());
    await runDiscovery(temporal.client, config);
    const clusterIds = sim.records().map((record) => record.cluster_id);

    // The source now points at a closed port: every run fails, visibly, and changes nothing.
    const closed = await freePort();
    await store.applySetting(discoverySetting({ ...good, options: { url: `http://127.0.0.1:${closed}/discovery` } }), new Date());
    const failedRunId = uniqueName('discovery-failing');
    const first = await runFailingDiscovery(temporal.client, config, failedRunId);
    assert.match(first.message, new RegExp(`1 of 1 discoveries failed .*${name}`));
    assert.equal(first.result.discoveries[0]?.ok, false);
    assert.deepEqual(first.result.retired.filter((id) => clusterIds.includes(id)), []);
    recordHistory(failedRunId, 'discovery-failed-source.json');

    await sleep(2500); // past the grace period (two intervals of 1 s)
    await store.makeDue([name], new Date());
    const second = await runFailingDiscovery(temporal.client, config);
    assert.deepEqual(second.result.retired.filter((id) => clusterIds.includes(id)), []);

    const stored = (await store.listSettings()).settings.find((s) => s.setting.name === name);
    assert.equal(stored?.last_run?.ok, false);
    assert.match(stored?.last_run?.error ?? '', new RegExp(String(closed)));
    for (const id of clusterIds) {
      assert.equal((await clusterHandle(id).describe()).status.name, 'RUNNING', `${id} keeps refreshing`);
      const doc = await store.getCluster(id);
      assert.equal(doc?.missing_since, null, `${id} is not missing`);
      assert.deepEqual(doc?.listed_by, [name]);
    }

    // The source answers again: the records were kept, so nothing is new.
    await store.applySetting(good, new Date());
    const healed = await runDiscovery(temporal.client, config);
    assert.deepEqual(healed.discoveries, [{ discovery: name, ok: true, clusters: 2, changed: 0, events: 0, problems: [], error: null }]);
    assert.ok(!reader.unique().some((e) => e.event === 'CLUSTER_RETIRED' && clusterIds.includes(e.cluster_id)));
    await store.deleteSetting(name);
  });
});

describe('retirement', () => {
  it('retires a dropped node (NODE_RETIRED), then a dropped cluster after the grace period, then the clusters of a deleted discovery', async () => {
    const sim = await newSim(2, 3);
    const [kept, dropped] = sim.records() as [SimDiscoveryRecord, SimDiscoveryRecord];
    const file = join(dir, 'retirement.yaml');
    writeFileSync(file, JSON.stringify([kept, dropped]));
    const name = uniqueName('retiring');
    await store.applySetting(discoverySetting({ name, backend: 'file', interval: 1, options: { path: file } }), new Date());
    await runDiscovery(temporal.client, config);
    await eventually('both refreshers have a view', async () => {
      for (const id of [kept.cluster_id, dropped.cluster_id]) if (!(await clusterHandle(id).query(viewQuery)).view) return false;
      return true;
    });
    // New to discovery and to Temporal: started as the ID's first run, which looks for no predecessor.
    assert.equal((await chainStartInput(temporal.client, `cluster/${kept.cluster_id}`)).no_earlier_run, true);

    // The file drops one node of `kept` and the whole of `dropped`.
    const droppedNode = kept.nodes[2]!;
    writeFileSync(file, JSON.stringify([{ ...kept, nodes: kept.nodes.slice(0, 2) }]));
    await store.makeDue([name], new Date());
    const noticed = await runDiscovery(temporal.client, config);
    // Other tests' discoveries, deleted when they finished, retire their clusters in these runs too.
    const ours = (retired: string[]) => retired.filter((id) => id === kept.cluster_id || id === dropped.cluster_id);
    assert.deepEqual(ours(noticed.retired), [], 'nothing is retired before the grace period');
    assert.equal(noticed.discoveries[0]?.changed, 1);
    assert.equal(noticed.discoveries[0]?.hold, undefined, 'one cluster of two leaving is an ordinary change: the guard does not hold it');
    assert.notEqual((await store.getCluster(dropped.cluster_id))?.missing_since, null);
    assert.equal((await clusterHandle(dropped.cluster_id).describe()).status.name, 'RUNNING');

    // The refresher of `kept` got the new record and retires the node itself after its grace period.
    const nodeRetired = await reader.waitFor(
      (all) => all.some((e) => e.event === 'NODE_RETIRED' && e.cluster_id === kept.cluster_id),
      20_000,
    );
    const retiredNode = nodeRetired.find((e) => e.event === 'NODE_RETIRED' && e.cluster_id === kept.cluster_id);
    assert.equal((retiredNode?.payload as { address: string }).address, droppedNode);

    await sleep(2200); // past the cluster's grace period (two intervals of 1 s)
    await store.makeDue([name], new Date());
    const retireRunId = uniqueName('discovery-retire');
    const retiring = await runDiscovery(temporal.client, config, retireRunId);
    assert.deepEqual(ours(retiring.retired), [dropped.cluster_id]);
    recordHistory(retireRunId, 'discovery-retirement.json');

    const finished = (await clusterHandle(dropped.cluster_id).result()) as ClusterRefreshResult;
    assert.match(finished.retired.reason, /no enabled discovery has listed/);
    const events = await reader.waitFor((all) => all.some((e) => e.event === 'CLUSTER_RETIRED' && e.cluster_id === dropped.cluster_id));
    const retired = events.find((e) => e.event === 'CLUSTER_RETIRED' && e.cluster_id === dropped.cluster_id)!;
    assert.equal(retired.id, `${dropped.cluster_id}/discovery/retire@${retiring.at}/CLUSTER_RETIRED`);
    assert.equal((retired.payload as { last_record: DiscoveryRecord }).last_record.cluster_id, dropped.cluster_id);
    assert.equal((await clusterHandle(kept.cluster_id).describe()).status.name, 'RUNNING');

    // Deleting the discovery: its remaining cluster goes missing at the next run, retires after the grace period.
    await store.deleteSetting(name);
    const marked = await runDiscovery(temporal.client, config);
    assert.deepEqual(ours(marked.retired), []);
    await sleep(2200);
    const last = await runDiscovery(temporal.client, config);
    assert.deepEqual(ours(last.retired), [kept.cluster_id]);
    const keptEnd = (await clusterHandle(kept.cluster_id).result()) as ClusterRefreshResult;
    assert.equal(keptEnd.retired.reason.includes(kept.cluster_id), true);
    const retiredMemo = (await clusterHandle(kept.cluster_id).describe()).memo ?? {};
    const retiredPublished = Number(retiredMemo[publishedGenerationMemo] ?? 0);
    assert.ok(retiredPublished > 0, 'the retired run published (its first refresh, at least)');
    assert.equal((await store.getCluster(kept.cluster_id))?.retire_done, true);

    // Listed again: new to discovery, but Temporal keeps the retired run, so it refuses the start as
    // the ID's first run; the record goes by signal-with-start, and the new run, which looks for its
    // predecessor, numbers above every generation the retired one may have published (quiet
    // refreshes publish nothing: their generations carry no event ids).
    const relisted = join(dir, 'relisted.yaml');
    writeFileSync(relisted, JSON.stringify([kept]));
    const again = uniqueName('relisting');
    await store.applySetting(discoverySetting({ name: again, backend: 'file', interval: 60, options: { path: relisted } }), new Date());
    const relisting = await runDiscovery(temporal.client, config);
    assert.equal(relisting.discoveries.find((d) => d.discovery === again)?.changed, 1);
    // Its own refresh done (the view alone may be the one it resumed from).
    const successor = await waitForView(clusterHandle(kept.cluster_id), (q) => q.last_report !== null && q.phase === 'waiting', 30_000, 'the relisted cluster was not refreshed');
    assert.ok(successor.view!.generation > retiredPublished, `successor at generation ${successor.view!.generation}, the retired run published up to ${retiredPublished}`);
    assert.equal((await chainStartInput(temporal.client, `cluster/${kept.cluster_id}`)).no_earlier_run, undefined);
    await store.deleteSetting(again);
  });
});

describe('the schedule', () => {
  it('is created then updated idempotently, and its ticks bring a record change to the running workflow within one tick', async () => {
    const sim = await newSim(1, 2);
    const record = sim.records()[0]!;
    const name = uniqueName('scheduled');
    await store.applySetting(discoverySetting({ name, backend: 'http', interval: 1, options: { url: `${sim.url}/discovery` } }), new Date());

    assert.equal(await ensureDiscoverySchedule(temporal.client, config), 'created');
    assert.equal(await ensureDiscoverySchedule(temporal.client, config), 'updated');
    const schedule = temporal.client.schedule.getHandle(config.discovery.scheduleId);
    const described = await schedule.describe();
    assert.equal(described.policies.overlap, 'SKIP');
    assert.equal(described.policies.catchupWindow, config.discovery.catchupWindowS * 1000);
    assert.equal(described.action.workflowType, 'discovery');
    assert.equal(described.action.taskQueue, config.temporal.taskQueue);
    assert.deepEqual(discoveryScheduleOptions(config).spec.intervals, [{ every: '2s' }]);

    const handle = clusterHandle(record.cluster_id);
    await eventually('the schedule starts the cluster workflow', async () => (await handle.query(viewQuery)).record.nodes.length === 2, 30_000);

    const response = await fetch(`${sim.url}/admin/clusters/${record.cluster_id}/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 201);
    const changedAt = Date.now();
    await eventually('the new node reaches the workflow', async () => (await handle.query(viewQuery)).record.nodes.length === 3, 30_000);
    const tookMs = Date.now() - changedAt;
    assert.ok(tookMs <= config.discovery.tickS * 1000 + 3000, `the change took ${tookMs} ms to arrive, more than one ${config.discovery.tickS} s tick`);

    // The event belongs to the run of one scheduled time: whole seconds of the 2 s interval.
    const events = await reader.waitFor((all) => all.some((e) => e.event === 'CLUSTER_CHANGED' && e.cluster_id === record.cluster_id));
    const changed = events.find((e) => e.event === 'CLUSTER_CHANGED' && e.cluster_id === record.cluster_id)!;
    assert.match(changed.timestamp, /:\d[02468]\.000Z$/);
    assert.equal(changed.id, `${record.cluster_id}/discovery/${name}@${changed.timestamp}/CLUSTER_CHANGED`);

    // A manual trigger starts one more run of the schedule.
    const before = (await schedule.describe()).info.numActionsTaken;
    await schedule.trigger();
    await eventually('the triggered run is taken', async () => (await schedule.describe()).info.numActionsTaken > before);
    await schedule.delete();
    await store.deleteSetting(name);
  });
});

describe('the retirement guard', () => {
  const cli = (args: string[]) => runFleetview(args, { ...process.env, ...discoveryConfigEnv(config) });

  /** The worker's gauge for one discovery, from its Prometheus endpoint. */
  async function heldGauge(discovery: string): Promise<number | undefined> {
    const text = await (await fetch(`http://127.0.0.1:${config.worker.metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('fleetview_discovery_retirements_held{') && l.includes(`discovery="${discovery}"`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  }

  /** The current details the run left (what the Web UI shows on its page). */
  async function currentDetails(workflowId: string): Promise<string> {
    const metadata = await temporal.client.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails ?? '';
  }

  /** Waits out the grace period (two intervals of 1 s) counted from `fromIso`. */
  async function pastGrace(fromIso: string): Promise<void> {
    await sleep(Math.max(0, Date.parse(fromIso) + 2000 + 200 - Date.now()));
  }

  async function discoverFile(name: string, file: string, records: SimDiscoveryRecord[], workflowId?: string) {
    writeFileSync(file, JSON.stringify(records));
    await store.makeDue([name], new Date());
    const run = await runDiscovery(temporal.client, config, workflowId);
    const outcome = run.discoveries.find((d) => d.discovery === name);
    assert.ok(outcome?.ok, `${name} ran: ${JSON.stringify(run)}`);
    return { run, outcome };
  }

  it('holds the retirements of a list that shrank too much at once: shown in list, run details and metric, its clusters keep refreshing, new and changed records still apply; the list recovering clears it', async () => {
    const sim = await newSim(7, 1);
    const records = sim.records();
    const [first, ...rest] = records as [SimDiscoveryRecord, ...SimDiscoveryRecord[]];
    const dropped = rest.slice(0, 5).map((r) => r.cluster_id);
    const added = rest[5]!;
    const file = join(dir, 'guard-hold.json');
    const name = uniqueName('guard-hold');
    writeFileSync(file, JSON.stringify(records.slice(0, 6)));
    await store.applySetting(discoverySetting({ name, backend: 'file', interval: 1, options: { path: file } }), new Date());
    const ours = (retired: string[]) => retired.filter((id) => records.some((r) => r.cluster_id === id));

    await discoverFile(name, file, records.slice(0, 6));
    await eventually('the six refreshers have a view', async () => {
      for (const r of records.slice(0, 6)) if (!(await clusterHandle(r.cluster_id).query(viewQuery)).view) return false;
      return true;
    });

    // The inventory answers 200 with 1 of its 6 clusters, renamed, plus a new one.
    const renamed = { ...first, display_name: 'renamed while held' };
    const heldRunId = uniqueName('discovery-held');
    const held = await discoverFile(name, file, [renamed, added], heldRunId);
    assert.deepEqual(held.outcome.hold, { held: 5, previous: 6, listed: 2, since: held.run.at, at: held.run.at });
    assert.deepEqual([held.outcome.changed, held.outcome.events], [2, 2], 'the changed and the new record still apply');
    assert.deepEqual(ours(held.run.retired), []);
    recordHistory(heldRunId, 'discovery-retirements-held.json');
    const shown = `held: 5 retirements (list shrank 6 → 2 at ${held.run.at})`;
    assert.match(await currentDetails(heldRunId), new RegExp(`- ${name}: 2 clusters.*\n  - retirements ${shown.replace(/[()]/g, '\\$&')}: release with fleetview discovery release ${name}`));
    assert.equal(await heldGauge(name), 5);
    for (const id of dropped) {
      const doc = await store.getCluster(id);
      assert.deepEqual([doc?.missing_since, doc?.listed_by, doc?.held_by], [null, [name], [name]], `${id} is held, not missing`);
    }
    await reader.waitFor((all) => all.some((e) => e.event === 'CLUSTER_NEW' && e.cluster_id === added.cluster_id) && all.some((e) => e.event === 'CLUSTER_CHANGED' && e.cluster_id === first.cluster_id));
    assert.equal((await clusterHandle(first.cluster_id).query(viewQuery)).record.display_name, 'renamed while held');

    const list = await cli(['discovery', 'list']);
    expectExit(list, 0, 'discovery list');
    assert.ok(list.stdout.split('\n').some((line) => line.startsWith(name) && line.endsWith(shown)), list.stdout);
    assert.match(list.stderr, new RegExp(`note: ${name} held: 5 retirements .*: fleetview discovery release ${name}`));

    // Past the grace period, the same short answer: still held (measured against the list from
    // before the shrink), nothing retired, and the held clusters keep refreshing.
    await pastGrace(held.run.at);
    const generations = new Map<string, number>();
    for (const id of dropped) generations.set(id, (await clusterHandle(id).query(viewQuery)).view?.generation ?? 0);
    const again = await discoverFile(name, file, [renamed, added]);
    assert.deepEqual(again.outcome.hold, { held: 5, previous: 7, listed: 2, since: held.run.at, at: again.run.at });
    assert.deepEqual(ours(again.run.retired), []);
    for (const id of dropped) {
      assert.equal((await clusterHandle(id).describe()).status.name, 'RUNNING', `${id} keeps its refresher`);
      await eventually(`${id} refreshes on`, async () => ((await clusterHandle(id).query(viewQuery)).view?.generation ?? 0) > generations.get(id)!);
    }

    // The inventory recovers: the hold clears by itself, nothing was ever missing.
    const recovered = await discoverFile(name, file, [renamed, ...rest]);
    assert.equal(recovered.outcome.hold, undefined);
    assert.equal((await store.listSettings()).settings.find((s) => s.setting.name === name)?.retirement_hold, null);
    assert.equal(await heldGauge(name), 0);
    for (const id of dropped) assert.deepEqual((await store.getCluster(id))?.held_by, [], `${id} is no longer held`);
    assert.ok(!reader.unique().some((e) => e.event === 'CLUSTER_RETIRED' && records.some((r) => r.cluster_id === e.cluster_id)), 'no CLUSTER_RETIRED');
    await store.deleteSetting(name);
  });

  it('an operator releases a hold with one command: the held clusters retire after their grace period', async () => {
    const sim = await newSim(4, 1);
    const records = sim.records();
    const kept = records[0]!;
    const dropped = records.slice(1).map((r) => r.cluster_id);
    const file = join(dir, 'guard-release.json');
    const name = uniqueName('guard-release');
    writeFileSync(file, JSON.stringify(records));
    await store.applySetting(discoverySetting({ name, backend: 'file', interval: 1, options: { path: file } }), new Date());
    const ours = (retired: string[]) => retired.filter((id) => dropped.includes(id));

    await discoverFile(name, file, records);
    // 3 of 4 at once, run with the CLI: a held run is a successful run that says what it holds.
    writeFileSync(file, JSON.stringify([kept]));
    const heldRun = await cli(['discovery', 'run', name]);
    expectExit(heldRun, 0, 'discovery run');
    assert.match(heldRun.stdout, new RegExp(`^${name}\\s+ok\\s+1\\s+0\\s+0\\s+retirements held: 3 retirements \\(list shrank 4 → 1 at `, 'm'));
    assert.match(heldRun.stderr, new RegExp(`note: ${name} held: 3 retirements .*: fleetview discovery release ${name}`));
    const hold = (await store.listSettings()).settings.find((s) => s.setting.name === name)?.retirement_hold;
    assert.deepEqual([hold?.held, hold?.previous, hold?.listed], [3, 4, 1]);
    assert.equal(await heldGauge(name), 3);

    const released = await cli(['discovery', 'release', name]);
    expectExit(released, 0, 'discovery release');
    assert.match(
      released.stdout,
      new RegExp(`discovery ${name}: released 3 held retirements \\(list shrank 4 → 1 at ${hold?.at}\\); those clusters are missing from now and retire after their grace period \\(2 s\\)`),
    );
    const releasedAt = (await store.getCluster(dropped[0]!))?.missing_since;
    assert.ok(releasedAt, 'released clusters are missing');
    assert.match((await cli(['discovery', 'list'])).stdout.split('\n').find((line) => line.startsWith(name)) ?? '', /\s-$/);

    // The next run of the same short list is ordinary; once the grace period is over they retire
    // (the CLI calls above can take longer than this test's 2 s grace period: then it is this run).
    const next = await discoverFile(name, file, [kept]);
    assert.equal(next.outcome.hold, undefined);
    if (Date.parse(next.run.at) < Date.parse(releasedAt) + 2000) assert.deepEqual(ours(next.run.retired), [], 'nothing retires before the grace period');
    assert.equal(await heldGauge(name), 0);
    await pastGrace(releasedAt);
    const retiring = await discoverFile(name, file, [kept]);
    assert.deepEqual([...ours(next.run.retired), ...ours(retiring.run.retired)].sort(), [...dropped].sort());
    for (const id of dropped) {
      assert.match(((await clusterHandle(id).result()) as ClusterRefreshResult).retired.reason, /no enabled discovery has listed/);
    }
    await reader.waitFor((all) => dropped.every((id) => all.some((e) => e.event === 'CLUSTER_RETIRED' && e.cluster_id === id)));
    assert.equal((await clusterHandle(kept.cluster_id).describe()).status.name, 'RUNNING');
    await store.deleteSetting(name);
  });
});
