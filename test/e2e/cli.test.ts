// The operator CLI, spawned as a process (bin/fleetview.mjs) against the real services, a worker
// and a simulated fleet: every command, its output and exit code, bad input included (unknown
// clusters and discoveries, malformed files, unreachable services).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { removeDiscoverySchedule } from '../../src/operations/index.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import { runCli } from '../../src/starter.js';
import { refreshNowUpdate } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, fleetviewBin as bin, runFleetview, type CliResult } from '../helpers/cli.js';
import { discoveryConfigEnv } from '../helpers/discovery.js';
import { eventually } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { freePort } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

// A tick of an hour: the schedule exists but never runs during the test, so `discovery run`
// alone decides when discovery happens.
const config = testConfig({
  FLEETVIEW_REFRESH_INTERVAL_S: '2',
  FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('cli-schedule'),
  FLEETVIEW_DISCOVERY_TICK_S: '3600',
});
const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...discoveryConfigEnv(config) };

let sim: SimHandle;
let worker: TestWorker | undefined;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let mongo: ClusterStore;
let dir: string;
let clusterIds: string[];
const discoveryName = uniqueName('cli');

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runFleetview(args, { ...baseEnv, ...env });
}

/** The CLI in this process, for what needs no service (help, usage errors). */
async function runInProcess(args: string[]): Promise<{ code: number; out: string; note: string }> {
  let out = '';
  let note = '';
  const code = await runCli(args, { out: (text) => (out += `${text}\n`), note: (text) => (note += `${text}\n`) });
  return { code, out, note };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-cli-'));
  sim = await startSim({ clusters: 3, nodes: 2, idPrefix: `${uniqueName('cli')}-` });
  clusterIds = sim.records().map((record) => record.cluster_id);
  mongo = await createClusterStore(config.mongodb);
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  writeFileSync(
    join(dir, 'good.yaml'),
    `# the sim, over the Replicante HTTP protocol\nname: ${discoveryName}\nbackend: http\ninterval: 3600\noptions:\n  url: ${sim.url}/discovery\n`,
  );
  writeFileSync(
    join(dir, 'bad.yaml'),
    `name: fine\nbackend: file\noptions: {path: /tmp/x.yaml}\n---\nname: broken\nbackend: http\ninterval: -5\noptions: {url: ftp://nowhere}\n`,
  );
}, setupBound);

after(
  () =>
    cleanUp({
      'removing the discovery schedule': async () => {
        if (temporal) await removeDiscoverySchedule(temporal.client, config.discovery.scheduleId, 'the test finished');
      },
      'stopping the worker': () => worker?.stop(),
      'terminating the cluster workflows': async () => {
        if (temporal) for (const id of clusterIds ?? []) await terminateQuietly(temporal.client.workflow.getHandle(`cluster/${id}`));
      },
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => mongo?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => mongo?.close(),
      'stopping the sim': () => sim?.close(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

describe('fleetview CLI', () => {
  it('explains itself: --help everywhere, exit 2 on a bad command line', async () => {
    const top = await cli(['--help']);
    expectExit(top, 0, '--help');
    assert.match(top.stdout, /^usage: fleetview <command>/);
    assert.match(top.stdout, /4 {2}a service \(Temporal, Kafka, MongoDB\) cannot be reached/);
    const unknown = await cli(['frobnicate']);
    expectExit(unknown, 2, 'unknown command');
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    // Every command's help and usage errors, in process: they need no service.
    for (const command of [['start'], ['discovery'], ['discovery', 'apply'], ['discovery', 'list'], ['discovery', 'delete'], ['discovery', 'run'], ['discovery', 'release'], ['clusters'], ['view'], ['refresh'], ['events']]) {
      const help = await runInProcess([...command, '--help']);
      assert.equal(help.code, 0, `${command.join(' ')} --help`);
      assert.match(help.out, /^usage: fleetview/, command.join(' '));
    }
    assert.equal((await runInProcess([])).code, 2, 'no command');
    const badOption = await runInProcess(['clusters', '--colour']);
    assert.equal(badOption.code, 2, 'unknown option');
    assert.match(badOption.note, /fleetview clusters: Unknown option '--colour'/);
    assert.equal((await runInProcess(['view'])).code, 2, 'view without a cluster');
    const badId = await runInProcess(['view', 'no/slashes']);
    assert.equal(badId.code, 2, 'invalid cluster id');
    assert.match(badId.note, /invalid cluster id "no\/slashes"/);
    assert.equal((await runInProcess(['events', '--last', 'many'])).code, 2, 'a count that is no number');
  });

  it('discovery apply: rejects a malformed file naming file, document and field, and stores nothing', async () => {
    const bad = await cli(['discovery', 'apply', '-f', join(dir, 'bad.yaml')]);
    expectExit(bad, 2, 'apply bad.yaml');
    assert.match(bad.stderr, /bad\.yaml document 2 \("broken"\): .*interval/);
    assert.match(bad.stderr, /options\.url/);
    assert.match(bad.stderr, /nothing was applied/);
    const missing = await cli(['discovery', 'apply', '-f', join(dir, 'missing.yaml')]);
    expectExit(missing, 2, 'apply missing.yaml');
    assert.match(missing.stderr, /missing\.yaml: cannot read the file/);
    expectExit(await cli(['discovery', 'apply']), 2, 'apply without -f');
    const list = await cli(['discovery', 'list']);
    expectExit(list, 0, 'discovery list');
    assert.match(list.stdout, /no discoveries/);
  });

  it('discovery apply, list and run: stores a discovery, runs it, starts the clusters', async () => {
    const dryRun = await cli(['discovery', 'apply', '-f', join(dir, 'good.yaml'), '--dry-run']);
    expectExit(dryRun, 0, 'apply --dry-run');
    assert.match(dryRun.stdout, new RegExp(`discovery ${discoveryName} \\(http, every 3600 s\\): valid`));

    const applied = await cli(['discovery', 'apply', '-f', join(dir, 'good.yaml')]);
    expectExit(applied, 0, 'apply good.yaml');
    assert.match(applied.stdout, new RegExp(`discovery ${discoveryName} \\(http, every 3600 s\\): created, due now`));
    assert.match(applied.stderr, /run fleetview start/, 'warns that no schedule exists yet');
    assert.match((await cli(['discovery', 'apply', '-f', join(dir, 'good.yaml')])).stdout, /unchanged, due now/);

    const run = await cli(['discovery', 'run', discoveryName]);
    expectExit(run, 0, 'discovery run');
    assert.match(run.stdout, new RegExp(`${discoveryName}\\s+ok\\s+3\\s+3\\s+3`));

    const list = await cli(['discovery', 'list', '--json']);
    expectExit(list, 0, 'discovery list --json');
    const listed = JSON.parse(list.stdout) as { discoveries: Array<{ setting: { name: string }; clusters: number; last_run: { ok: boolean } }> };
    assert.deepEqual(
      listed.discoveries.map((d) => [d.setting.name, d.clusters, d.last_run.ok]),
      [[discoveryName, 3, true]],
    );
    const table = await cli(['discovery', 'list']);
    assert.match(table.stdout, /NAME\s+BACKEND\s+ENABLED\s+EVERY\s+CLUSTERS\s+NEXT RUN\s+LAST RUN\s+RESULT\s+PAUSED\s+RETIREMENTS/);
    assert.match(table.stdout, new RegExp(`${discoveryName}\\s+http\\s+yes\\s+3600s\\s+3\\s+in \\d+m\\s+\\d+s ago\\s+ok: 3 clusters, 3 changed\\s+-\\s+-$`, 'm'));
  });

  it('discovery release: needs one valid name, exit 3 when unknown, and says so when nothing is held', async () => {
    const missing = await cli(['discovery', 'release']);
    expectExit(missing, 2, 'release without a name');
    assert.match(missing.stderr, /fleetview discovery release: missing argument/);
    const badName = await cli(['discovery', 'release', 'no/slashes']);
    expectExit(badName, 2, 'release of an invalid name');
    assert.match(badName.stderr, /invalid discovery name "no\/slashes"/);
    const unknown = await cli(['discovery', 'release', 'no-such-discovery']);
    expectExit(unknown, 3, 'release of an unknown discovery');
    assert.match(unknown.stderr, /fleetview discovery release: no discovery named "no-such-discovery"/);
    const nothing = await cli(['discovery', 'release', discoveryName]);
    expectExit(nothing, 0, 'release of a discovery that holds nothing');
    assert.match(nothing.stdout, new RegExp(`discovery ${discoveryName} holds no retirements: nothing to release`));
  });

  it('discovery run: a failing source exits 1 naming it; delete removes it, exit 3 when unknown', async () => {
    const closed = await freePort();
    const file = join(dir, 'failing.yaml');
    const name = uniqueName('cli-failing');
    writeFileSync(file, JSON.stringify({ name, backend: 'http', options: { url: `http://127.0.0.1:${closed}/discovery` } }));
    expectExit(await cli(['discovery', 'apply', '-f', file]), 0, 'apply failing.yaml');
    const run = await cli(['discovery', 'run', name]);
    expectExit(run, 1, 'discovery run of a failing source');
    assert.match(run.stdout, new RegExp(`${name}\\s+FAILED`));
    assert.match(run.stderr, new RegExp(`1 of 1 discoveries failed .*${name}.*connection refused`));
    expectExit(await cli(['discovery', 'delete', name]), 0, 'delete');
    const again = await cli(['discovery', 'delete', name]);
    expectExit(again, 3, 'delete again');
    assert.match(again.stderr, /fleetview discovery delete: no discovery named/);
    expectExit(await cli(['discovery', 'run', 'no-such-discovery']), 3, 'run an unknown discovery');
  });

  it('clusters: one row per cluster with status, nodes, nodes down and last refresh', async () => {
    const rows = await eventually('three HEALTHY clusters', async () => {
      const result = await cli(['clusters']);
      expectExit(result, 0, 'clusters');
      const healthy = clusterIds.filter((id) => new RegExp(`^${id}\\s+HEALTHY\\s+2\\s+0\\s+0\\s+\\d+s ago\\s+${discoveryName}$`, 'm').test(result.stdout));
      return healthy.length === 3 ? result.stdout : undefined;
    });
    assert.match(rows, /^CLUSTER\s+STATUS\s+NODES\s+AGENTS DOWN\s+NODES DOWN\s+LAST REFRESH\s+DISCOVERY$/m);
    const json = await cli(['clusters', '--json']);
    const parsed = JSON.parse(json.stdout) as Array<{ cluster_id: string; status: string }>;
    assert.deepEqual(
      parsed.filter((c) => clusterIds.includes(c.cluster_id)).map((c) => c.status),
      ['HEALTHY', 'HEALTHY', 'HEALTHY'],
    );
  });

  it('view: the workflow view, as text and JSON; exit 3 for an unknown cluster', async () => {
    const id = clusterIds[0]!;
    const text = await cli(['view', id]);
    expectExit(text, 0, 'view');
    assert.match(text.stdout, new RegExp(`^cluster  ${id} \\(Mongo replica set 0\\)$`, 'm'));
    assert.match(text.stdout, /^status {3}HEALTHY, generation \d+/m);
    assert.match(text.stdout, new RegExp(`^source {3}workflow cluster/${id}`, 'm'));
    assert.match(text.stdout, new RegExp(`^${id}-n1:27017\\s+UP\\s+mongodb\\s+6\\.0\\.5\\s+0\\.3\\.1\\s+1 primary / 1`, 'm'));
    const json = JSON.parse((await cli(['view', id, '--json'])).stdout) as { source: string; view: { cluster_id: string; nodes: number } };
    assert.equal(json.source, 'workflow');
    assert.deepEqual([json.view.cluster_id, json.view.nodes], [id, 2]);
    const unknown = await cli(['view', 'no-such-cluster']);
    expectExit(unknown, 3, 'view of an unknown cluster');
    assert.match(unknown.stderr, /unknown cluster "no-such-cluster"/);
  });

  it('refresh: a signal, or with --wait the refreshNow report; exit 3 for an unknown cluster', async () => {
    const id = clusterIds[1]!;
    const signaled = await cli(['refresh', id]);
    expectExit(signaled, 0, 'refresh');
    assert.match(signaled.stdout, new RegExp(`refresh requested for ${id}`));
    const waited = await cli(['refresh', id, '--wait']);
    expectExit(waited, 0, 'refresh --wait');
    assert.match(waited.stderr, new RegExp(`waiting for a refresh of ${id}`));
    assert.match(waited.stdout, new RegExp(`^refreshed ${id}: generation \\d+, HEALTHY, 2 nodes fetched, 0 down`, 'm'));
    const report = JSON.parse((await cli(['refresh', id, '--wait', '--json'])).stdout) as { generation: number; nodes_fetched: number };
    assert.equal(report.nodes_fetched, 2);
    const unknown = await cli(['refresh', 'no-such-cluster', '--wait']);
    expectExit(unknown, 3, 'refresh of an unknown cluster');
    assert.match(unknown.stderr, /no running workflow for cluster "no-such-cluster"/);
  });

  it('events: the last N, a cluster from the beginning as JSON, and --follow until Ctrl-C', async () => {
    const id = clusterIds[2]!;
    const fromStart = await cli(['events', '--cluster', id, '--from-beginning', '--json']);
    expectExit(fromStart, 0, 'events --from-beginning');
    const events = fromStart.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FleetEvent);
    assert.equal(events[0]?.event, 'CLUSTER_NEW');
    assert.ok(events.every((event) => event.cluster_id === id));
    assert.ok(events.some((event) => event.event === 'NODE_NEW'));

    const last = await cli(['events', '--last', '3']);
    expectExit(last, 0, 'events --last 3');
    const lines = last.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}\S+\s+[A-Z_]+ {2}/);

    const follower = spawn(process.execPath, [bin, 'events', '--follow', '--last', '0', '--cluster', id], { env: baseEnv });
    let out = '';
    let err = '';
    follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    follower.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('close', resolve));
    try {
      await eventually('the follower is following', () => /following/.test(err) || undefined, 30_000);
      await fetch(`${sim.url}/admin/clusters/${id}/nodes/n1/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agent":"down"}' });
      await temporal.client.workflow.getHandle(`cluster/${id}`).executeUpdate(refreshNowUpdate);
      await eventually('the follower prints AGENT_DOWN', () => new RegExp(`${id}\\s+AGENT_DOWN\\s+${id}-n1:2181\\s+UP -> AGENT_DOWN`).test(out) || undefined);
      assert.ok(!/CLUSTER_NEW/.test(out), '--last 0 shows no earlier event');
    } finally {
      follower.kill('SIGINT');
    }
    assert.equal(await exited, 0, `events --follow ends cleanly on Ctrl-C: ${err}`);
    await fetch(`${sim.url}/admin/clusters/${id}/nodes/n1/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agent":"up"}' });
  });

  it('start: creates, then updates, the schedule, the topic and the indexes', async () => {
    const first = await cli(['start']);
    expectExit(first, 0, 'start');
    assert.match(first.stdout, new RegExp(`^schedule  ${config.discovery.scheduleId} created: every 3600 s, overlap skip, catch-up 60 s`, 'm'));
    assert.match(first.stdout, new RegExp(`^topic     ${config.kafka.topic} ready$`, 'm'));
    assert.match(first.stdout, /^web ui {4}http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/schedules\//m);
    const second = await cli(['start']);
    expectExit(second, 0, 'start again');
    assert.match(second.stdout, /updated: every 3600 s/);
    const described = await temporal.client.schedule.getHandle(config.discovery.scheduleId).describe();
    assert.equal(described.action.workflowType, 'discovery');
    // Discovery runs go ahead of the cluster workflows' tasks (src/workflows/discovery-messages.ts).
    assert.equal(described.action.type === 'startWorkflow' ? described.action.priority?.priorityKey : undefined, 1, 'the schedule starts discovery runs with priority key 1');
    // With the schedule in place, apply no longer warns.
    assert.doesNotMatch((await cli(['discovery', 'apply', '-f', join(dir, 'good.yaml')])).stderr, /fleetview start/);
  });

  it('events ends by itself: --follow --timeout, and a Ctrl-C while Kafka does not answer', async () => {
    const timed = await cli(['events', '--follow', '--last', '0', '--timeout', '2']);
    expectExit(timed, 0, 'events --follow --timeout 2 (runFleetview kills it after 60 s)');
    assert.match(timed.stderr, /following \S+ \(for 2 s, or until Ctrl-C\)/);

    // A "broker" that takes connections and never answers: every Kafka request of the CLI waits.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const follower = spawn(process.execPath, [bin, 'events', '--follow'], { env: { ...baseEnv, FLEETVIEW_KAFKA_BROKERS: `127.0.0.1:${port}` } });
    let err = '';
    follower.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('close', resolve));
    try {
      await eventually('the CLI connected to the silent broker', () => sockets.length > 0 || undefined, 30_000);
      follower.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref())]);
      assert.equal(code, 0, `events --follow, Ctrl-C while Kafka is silent: ${code === 'hung' ? 'still running 15 s after Ctrl-C' : `exit ${code}`}: ${err}`);
    } finally {
      follower.kill('SIGKILL');
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('names the service and address it cannot reach (exit 4)', async () => {
    const closed = await freePort();
    const temporalDown = await cli(['refresh', clusterIds[0]!], { FLEETVIEW_TEMPORAL_ADDRESS: `127.0.0.1:${closed}` });
    expectExit(temporalDown, 4, 'Temporal unreachable');
    assert.match(temporalDown.stderr, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${closed}`));
    const mongoDown = await cli(['clusters'], { FLEETVIEW_MONGODB_URI: `mongodb://127.0.0.1:${closed}/` });
    expectExit(mongoDown, 4, 'MongoDB unreachable');
    assert.match(mongoDown.stderr, new RegExp(`cannot reach MongoDB at mongodb://127\\.0\\.0\\.1:${closed}/`));
    const kafkaDown = await cli(['events'], { FLEETVIEW_KAFKA_BROKERS: `127.0.0.1:${closed}` });
    expectExit(kafkaDown, 4, 'Kafka unreachable');
    assert.match(kafkaDown.stderr, new RegExp(`cannot reach Kafka at 127\\.0\\.0\\.1:${closed}`));
  });

  it('without a worker: view falls back to MongoDB, refresh --wait gives up after its timeout', async () => {
    await worker?.stop();
    worker = undefined;
    const id = clusterIds[0]!;
    const view = await cli(['view', id, '--timeout', '1']);
    expectExit(view, 0, 'view without a worker');
    assert.match(view.stderr, new RegExp(`no answer to the view query of cluster/${id} within 1 s`));
    assert.match(view.stdout, /^source {3}MongoDB \(stored at generation \d+\)$/m);
    const refresh = await cli(['refresh', id, '--wait', '--timeout', '2']);
    expectExit(refresh, 1, 'refresh --wait without a worker');
    assert.match(refresh.stderr, /no refresh of .* within 2 s: is a worker polling task queue/);
    expectExit(await cli(['discovery', 'delete', discoveryName]), 0, 'delete the discovery');
  });
});
