// Bad input through the doors of a running fleetview, on the real services: discovery records
// (a discovery run), a settings file (the CLI, spawned), the `nodes` signal and the `refreshNow`
// update sent with the real `temporal` CLI; and an agent's error answer, whose root cause must be
// the NODE_DOWN event's reason while its 30 KB trace reaches no event, log line or document.
// Every `nodes` and `refreshNow` row of docs/reference/bad-input.md ("Bad input at every door") is tried.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createDiscoveryStore, type DiscoveryStore } from '../../src/adapters/discovery-store/index.js';
import { createLogger } from '../../src/adapters/logger.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import { createFleetviewWorker, type RunningWorker } from '../../src/worker.js';
import { viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { discoveryConfigEnv, discoverySetting, runDiscovery } from '../helpers/discovery.js';
import { waitUntil } from '../helpers/polling.js';
import { servicesEnv } from '../helpers/services-env.js';
import { connectClient, historyOfAllRuns, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { assertDoorAnswer, doorRows } from '../helpers/readme-doors.js';
import { uniqueName } from '../helpers/unique.js';

const run = promisify(execFile);
const config = testConfig({ FLEETVIEW_REFRESH_INTERVAL_S: '2', FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('doors-schedule') });
const big = 'a'.repeat(10 * 1024);
/** What only the sim's error bodies hold: their trace and variant. */
const traceMarkers = ['stack backtrace', 'replicante_agent', 'StoreOpFailed'];

let sim: SimHandle;
let mongo: ClusterStore;
let discoveries: DiscoveryStore;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let worker: RunningWorker;
let working: Promise<void>;
let reader: TopicReader;
let dir: string;
let clusterId: string;
const logLines: string[] = [];
const tried = new Set<string>();

function check(door: string, value: string, actual: { text: string; exit?: number | null; accepted: boolean }): void {
  tried.add(`${door} | ${value}`);
  assertDoorAnswer(door, value, actual);
}

/** The real temporal CLI against the test's namespace; never throws, answers exit code and output. */
async function temporalCli(...args: string[]): Promise<{ exit: number; text: string }> {
  const cli = servicesEnv().FLEETVIEW_TEMPORAL_CLI!;
  try {
    const { stdout, stderr } = await run(cli, [...args, '--address', config.temporal.address, '--namespace', config.temporal.namespace], { encoding: 'utf8', timeout: 60_000 });
    return { exit: 0, text: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { exit: typeof failed.code === 'number' ? failed.code : -1, text: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

function fleetviewCli(args: string[]): Promise<{ exit: number | null; stdout: string; stderr: string }> {
  const bin = fileURLToPath(new URL('../../bin/fleetview.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...discoveryConfigEnv(config) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ exit, stdout, stderr }));
  });
}

const handle = () => temporal.client.workflow.getHandle(`cluster/${clusterId}`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-doors-e2e-'));
  sim = await startSim({ clusters: 1, nodes: 2, idPrefix: `${uniqueName('doors')}-` });
  clusterId = sim.records()[0]!.cluster_id;
  mongo = await createClusterStore(config.mongodb);
  discoveries = createDiscoveryStore(mongo.db);
  await discoveries.ensureIndexes();
  temporal = await connectClient(config);
  // The worker's log lines are kept: a signal cannot be rejected, its problem is only logged.
  worker = await createFleetviewWorker(config, createLogger('warn', { test: true }, (line) => logLines.push(line)));
  working = worker.run();
  reader = await new TopicReader(config).start();
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the topic reader': () => reader?.stop(),
      'terminating the cluster workflow': async () => {
        if (temporal && clusterId) await terminateQuietly(handle());
      },
      'stopping the worker': async () => {
        worker?.shutdown();
        await working;
      },
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => mongo?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => mongo?.close(),
      'stopping the sim': () => sim?.close(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

describe('bad input at the doors of a running fleetview', () => {
  it('discovery records: a run skips the bad ones, names each, and stores and starts only the good one', async () => {
    const good = sim.records()[0]!;
    const node = good.nodes[0] as string;
    const bad: Array<[unknown, RegExp]> = [
      [{ cluster_id: { $gt: '' }, nodes: [node] }, /records\[1\] skipped: cluster id must be a string, got an object/],
      [{ cluster_id: `${clusterId}-dn`, display_name: 'Orders\u001b[2J\r\nfake line', nodes: [node] }, /records\[2\] .*display_name must be .* control character U\+001B at index 6/],
      [{ cluster_id: `${clusterId}-url`, nodes: ['http://h/\u001b[2J'] }, /records\[3\] .*nodes\[0\]: invalid agent address "http:\/\/h\/\\u001b\[2J": control character U\+001B/],
      [{ cluster_id: '../../etc/passwd', nodes: [node] }, /records\[4\] skipped: invalid cluster id "\.\.\/\.\.\/etc\/passwd"/],
    ];
    const path = join(dir, 'records.json');
    writeFileSync(path, JSON.stringify([good, ...bad.map(([record]) => record)]));
    const name = uniqueName('doors');
    await discoveries.applySetting(discoverySetting({ name, backend: 'file', interval: 3600, options: { path } }), new Date());
    const outcome = (await runDiscovery(temporal.client, config)).discoveries.find((d) => d.discovery === name);
    assert.equal(outcome?.ok, true, JSON.stringify(outcome));
    assert.equal(outcome.problems.length, bad.length, outcome.problems.join('\n'));
    for (const [index, [, problem]] of bad.entries()) assert.match(outcome.problems[index] ?? '', problem);
    assert.deepEqual((await discoveries.listClusters()).map((stored) => stored.cluster_id), [clusterId]);
    for (const id of [`${clusterId}-dn`, `${clusterId}-url`]) {
      await assert.rejects(temporal.client.workflow.getHandle(`cluster/${id}`).describe(), /not found/i, `${id} was started`);
    }
    await waitForView(handle(), (q) => (q.view?.generation ?? 0) >= 1, 30_000, 'the good cluster did not refresh');
  });

  it('a settings file that is not UTF-8: exit 2 naming the file and the line, nothing stored', async () => {
    const path = join(dir, 'latin1.yaml');
    writeFileSync(path, Buffer.from('name: inventory\nbackend: http\noptions:\n  url: http://inventory.example/d\n  headers: {X-Team: "z\xfcrich"}\n', 'latin1'));
    const before = (await discoveries.listSettings()).settings.map((s) => s.setting.name);
    const applied = await fleetviewCli(['discovery', 'apply', '-f', path]);
    assert.equal(applied.exit, 2, applied.stderr);
    assert.match(applied.stderr, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not UTF-8: byte 0xFC at line 5, column 23 \\(byte offset 95\\); save the file as UTF-8\\nnothing was applied`));
    assert.deepEqual((await discoveries.listSettings()).settings.map((s) => s.setting.name), before);
  });

  it('the nodes signal (temporal workflow signal): each bad record is logged by the worker and dropped; the record stays, refreshes go on', async () => {
    const start = await handle().query(viewQuery);
    const record = { cluster_id: clusterId, nodes: start.record.nodes.map((n) => n.agent_address) };
    const latin1 = join(dir, 'signal-latin1.json');
    writeFileSync(latin1, Buffer.concat([Buffer.from(`{"cluster_id": "${clusterId}", "display_name": "caf`), Buffer.from([0xe9]), Buffer.from(`", "nodes": ${JSON.stringify(record.nodes)}}`)]));
    const inputs: Array<[string, string[]]> = [
      ['`{"$gt":""}`', ['--input', '{"$gt":""}']],
      ['`../../etc/passwd`', ['--input', JSON.stringify({ ...record, cluster_id: '../../etc/passwd' })]],
      ['`10 KB`', ['--input', JSON.stringify(big)]],
      ['`control`', ['--input', JSON.stringify({ ...record, display_name: 'x\u001b[2J\r\ny' })]],
      ['`""`', ['--input', JSON.stringify({ ...record, cluster_id: '' })]],
      ['`non-UTF-8`', ['--input-file', latin1]],
    ];
    for (const [value, input] of inputs) {
      const logged = logLines.length;
      const sent = await temporalCli('workflow', 'signal', '--workflow-id', `cluster/${clusterId}`, '--name', 'nodes', ...input);
      assert.equal(sent.exit, 0, sent.text);
      await waitUntil(() => logLines.slice(logged).some((line) => line.includes('ignored an invalid nodes signal')), 20_000, `no log line for the nodes signal ${value}`);
      const line = logLines.slice(logged).find((candidate) => candidate.includes('ignored an invalid nodes signal'))!;
      const entry = JSON.parse(line) as { error: string; workflowId: string };
      assert.equal(entry.workflowId, `cluster/${clusterId}`);
      check('`nodes` signal', value, { text: entry.error, accepted: false });
    }
    // Refreshes go on with the record it had; none of the bad ones reached the view or the store.
    const later = await waitForView(handle(), (q) => (q.view?.generation ?? 0) >= (start.view?.generation ?? 0) + 2, 30_000, 'refreshes stopped');
    assert.deepEqual(later.record, start.record);
    const stored = await mongo.loadView(clusterId);
    assert.equal(stored?.display_name, start.view?.display_name);
    assert.deepEqual(stored?.members.map((m) => m.address).sort(), record.nodes.sort());
  });

  it('the refreshNow update (temporal workflow update execute): arguments are refused by the validator and never run', async () => {
    const history = async () => (await historyOfAllRuns(temporal.client, `cluster/${clusterId}`)).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    const acceptedBefore = await history();
    const update = (...input: string[]) => temporalCli('workflow', 'update', 'execute', '--workflow-id', `cluster/${clusterId}`, '--name', 'refreshNow', '-o', 'json', ...input);
    for (const [value, input] of [
      ['`{"$gt":""}`', '{"$gt":""}'],
      ['`10 KB`', JSON.stringify(big)],
      ['`control`', JSON.stringify('\u001b[2J')],
      ['`""`', '""'],
    ] as const) {
      const answer = await update('--input', input);
      check('`refreshNow` update', value, { text: answer.text, exit: answer.exit, accepted: answer.exit === 0 });
      assert.equal(answer.exit, 1, answer.text);
    }
    assert.equal(await history(), acceptedBefore, 'a refused update reached the history');
    let generation = 0;
    for (const input of [[], ['--input', 'null'], ['--input', '{}']]) {
      const answer = await update(...input);
      assert.equal(answer.exit, 0, answer.text);
      const report = (JSON.parse(answer.text) as { result: { generation: number } }).result;
      assert.ok(report.generation > generation, `generation ${report.generation} after ${generation}`);
      generation = report.generation;
    }
    check('`refreshNow` update', 'no input, `null`, `{}`', { text: `generation ${generation}`, accepted: true });
    assert.equal(await history(), acceptedBefore + 3);
  });

  it("the operator's updates (settings, pause, maintenance): bad requests are refused by their validators, nothing changes", async () => {
    const history = async () => (await historyOfAllRuns(temporal.client, `cluster/${clusterId}`)).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
    const acceptedBefore = await history();
    const controlsBefore = (await handle().query(viewQuery)).controls;
    const update = (name: string, input: string) =>
      temporalCli('workflow', 'update', 'execute', '--workflow-id', `cluster/${clusterId}`, '--name', name, '-o', 'json', '--input', input);
    const actorInput = JSON.stringify({ actor: { user: '' } });
    const answer = await update('refreshNow', actorInput);
    check('`refreshNow` update', '`{"actor": {"user": ""}}`', { text: answer.text, exit: answer.exit, accepted: answer.exit === 0 });
    for (const [name, value, input] of [
      ['settings', '`{"$gt":""}`', '{"$gt":""}'],
      ['settings', '`{"set": {"refresh_interval_s": -5}}`', '{"set": {"refresh_interval_s": -5}}'],
      ['settings', '`{"set": {"refresh_interval_s": "10 KB"}}`', JSON.stringify({ set: { refresh_interval_s: big } })],
      ['pause', '`{"reason": "x", "until": "2020-01-01T00:00:00Z"}`', '{"reason": "x", "until": "2020-01-01T00:00:00Z"}'],
      ['pause', '`control`', JSON.stringify({ reason: '\u001b[2J' })],
      ['maintenance', '`{"reason": "x"}`', '{"reason": "x"}'],
    ] as const) {
      const refused = await update(name, input);
      check(`\`${name}\` update`, value, { text: refused.text, exit: refused.exit, accepted: refused.exit === 0 });
      assert.equal(refused.exit, 1, refused.text);
    }
    assert.equal(await history(), acceptedBefore, 'a refused update reached the history');
    assert.deepEqual((await handle().query(viewQuery)).controls, controlsBefore);
  });

  it("every row of docs/reference/bad-input.md for the nodes signal and the cluster workflow's updates was tried", () => {
    const untried = ['`nodes`', '`refreshNow`', '`settings`', '`pause`', '`maintenance`'].flatMap(doorRows).filter((row) => !tried.has(`${row.door} | ${row.value}`));
    assert.deepEqual(untried.map((row) => `| ${row.door} | ${row.value} |`), []);
  });

  it("a datastore down: NODE_DOWN names the agent's root cause; its 30 KB trace reaches no event, log line or document", async () => {
    const response = await fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/n2/state`, { method: 'POST', body: JSON.stringify({ datastore: 'down' }) });
    assert.equal(response.status, 200);
    const errorBody = await (await fetch(`${sim.nodeUrl(clusterId, 'n2')}/api/unstable/info/datastore`)).text();
    assert.ok(errorBody.length > 30_000 && traceMarkers.every((marker) => errorBody.includes(marker)), 'the sim answers a big Replicante error body');

    const events = await reader.waitFor((all) => all.some((e) => e.event === 'NODE_DOWN' && e.cluster_id === clusterId), 30_000);
    const down = events.find((e) => e.event === 'NODE_DOWN' && e.cluster_id === clusterId)!;
    assert.deepEqual((down.payload as { after: unknown }).after, {
      code: 'NODE_DOWN',
      reason: "datastore info: HTTP 503: datastore operation 'buildInfo' failed: Connection refused (os error 111)",
    });
    // The view that carries the reason is stored (written with the change), then nothing may hold the trace.
    await waitUntil(async () => (await mongo.loadView(clusterId))?.generation === down.generation, 20_000, 'the NODE_DOWN view was not stored');
    const documents: string[] = [];
    for (const { name } of await mongo.db.listCollections().toArray()) {
      for (const document of await mongo.db.collection(name).find().toArray()) documents.push(JSON.stringify(document));
    }
    assert.ok(documents.some((document) => document.includes('Connection refused (os error 111)')), 'the stored view names the root cause');
    const places: Array<[string, string[]]> = [
      ['event', reader.received.map((r) => JSON.stringify(r))],
      ['log line', logLines],
      ['document', documents],
    ];
    for (const [place, texts] of places) {
      for (const marker of traceMarkers) assert.ok(!texts.some((text) => text.includes(marker)), `a ${place} holds ${JSON.stringify(marker)}`);
    }
  });
});
