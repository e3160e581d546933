// `fleetview discovery pause` and `resume` on the real services with a worker and a simulated
// fleet: every cluster the discovery lists is paused through its workflow's pause update, a
// cluster the discovery lists later (while it is paused) is paused when discovery starts it, and
// resume ends them all; DISCOVERY_PAUSED/RESUMED (with the counts) and each cluster's
// CLUSTER_PAUSED/RESUMED are on the topic.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { removeDiscoverySchedule } from '../../src/operations/index.js';
import type { SimDiscoveryRecord } from '../../src/sim/discovery-api.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import { viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, runFleetview, type CliResult } from '../helpers/cli.js';
import { discoveryConfigEnv } from '../helpers/discovery.js';
import { eventually } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { uniqueName } from '../helpers/unique.js';

// A tick of an hour: `discovery run` alone decides when discovery happens.
const config = testConfig({
  FLEETVIEW_REFRESH_INTERVAL_S: '2',
  FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('pause-schedule'),
  FLEETVIEW_DISCOVERY_TICK_S: '3600',
});
const env: NodeJS.ProcessEnv = { ...process.env, ...discoveryConfigEnv(config) };
const name = uniqueName('paused');

let sim: SimHandle;
let worker: TestWorker | undefined;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let mongo: ClusterStore;
let reader: TopicReader;
let dir: string;
let records: SimDiscoveryRecord[];

function cli(args: string[]): Promise<CliResult> {
  return runFleetview(args, env);
}

/** The file source's records, replaced whole (as the sim does) so a run never reads half a file. */
function listRecords(list: SimDiscoveryRecord[]): void {
  writeFileSync(join(dir, 'records.json.tmp'), JSON.stringify(list));
  renameSync(join(dir, 'records.json.tmp'), join(dir, 'records.json'));
}

async function pauseOf(clusterId: string) {
  const view = await temporal.client.withDeadline(Date.now() + 10_000, () => temporal.client.workflow.getHandle(`cluster/${clusterId}`).query(viewQuery));
  return view.controls?.pause ?? null;
}

const eventsOf = (events: FleetEvent[], code: string) => events.filter((event) => event.event === code);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-discovery-pause-'));
  sim = await startSim({ clusters: 3, nodes: 1, idPrefix: `${uniqueName('dp')}-` });
  records = sim.records();
  mongo = await createClusterStore(config.mongodb);
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  listRecords(records.slice(0, 2));
  writeFileSync(join(dir, 'discovery.yaml'), `name: ${name}\nbackend: file\ninterval: 3600\noptions:\n  path: records.json\n`);
  reader = new TopicReader(config);
  const applied = cli(['discovery', 'apply', '-f', join(dir, 'discovery.yaml')]);
  await reader.start({ waitForTopicMs: 60_000 });
  expectExit(await applied, 0, 'discovery apply');
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the topic reader': () => reader?.stop(),
      'removing the discovery schedule': async () => {
        if (temporal) await removeDiscoverySchedule(temporal.client, config.discovery.scheduleId, 'the test finished');
      },
      'stopping the worker': () => worker?.stop(),
      'terminating the cluster workflows': async () => {
        if (temporal) for (const record of records ?? []) await terminateQuietly(temporal.client.workflow.getHandle(`cluster/${record.cluster_id}`));
      },
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => mongo?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => mongo?.close(),
      'stopping the sim': () => sim?.close(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

describe('fleetview discovery pause and resume', () => {
  it('pauses every listed cluster, then the ones it lists later when discovery starts them; resume ends them all', async () => {
    const [first, second, third] = records.map((record) => record.cluster_id) as [string, string, string];
    expectExit(await cli(['discovery', 'run', name]), 0, 'the first discovery run');
    for (const id of [first, second]) await eventually(`${id} is refreshed`, async () => (await temporal.client.workflow.getHandle(`cluster/${id}`).query(viewQuery)).view !== null, 30_000);

    const paused = await cli(['discovery', 'pause', name, '--for', '1h', '--reason', 'inventory migration', '--actor', 'erin']);
    expectExit(paused, 0, 'discovery pause');
    assert.match(paused.stdout, /: 2 of 2 clusters paused; the clusters it lists later are paused when discovery starts them/);
    for (const id of [first, second]) {
      const pause = await pauseOf(id);
      assert.equal(pause?.reason, 'inventory migration', id);
      assert.equal(pause?.actor.user, 'erin', id);
    }
    const until = (await pauseOf(first))?.until;
    assert.ok(until && Math.abs(Date.parse(until) - Date.now() - 3_600_000) < 60_000, `one hour: ${until}`);
    assert.equal((await pauseOf(second))?.until, until, 'one end for every cluster');

    // Listed later, while the discovery is paused: paused as discovery starts it.
    listRecords(records);
    expectExit(await cli(['discovery', 'run', name]), 0, 'the run that lists a third cluster');
    const late = await eventually(`${third} is paused`, () => pauseOf(third).catch(() => undefined).then((pause) => pause ?? undefined), 30_000);
    assert.deepEqual([late.reason, late.until, late.actor.user], ['inventory migration', until, 'erin']);
    // The same pause once: running discovery again sends nothing more.
    expectExit(await cli(['discovery', 'run', name]), 0, 'a run with nothing new');

    const resumed = await cli(['discovery', 'resume', name, '--actor', 'erin']);
    expectExit(resumed, 0, 'discovery resume');
    assert.match(resumed.stdout, /: 3 of 3 clusters resumed/);
    for (const id of [first, second, third]) assert.equal(await pauseOf(id), null, id);

    const events = await reader.waitFor((all) => eventsOf(all, 'DISCOVERY_RESUMED').length === 1 && eventsOf(all, 'CLUSTER_RESUMED').length === 3, 30_000);
    const [discoveryPaused] = eventsOf(events, 'DISCOVERY_PAUSED');
    assert.ok(discoveryPaused?.event === 'DISCOVERY_PAUSED');
    assert.deepEqual([discoveryPaused.payload.clusters, discoveryPaused.payload.until, discoveryPaused.cluster_id], [2, until, null]);
    const [discoveryResumed] = eventsOf(events, 'DISCOVERY_RESUMED');
    assert.ok(discoveryResumed?.event === 'DISCOVERY_RESUMED');
    assert.equal(discoveryResumed.payload.clusters, 3);
    assert.deepEqual(eventsOf(events, 'CLUSTER_PAUSED').map((event) => event.cluster_id).sort(), [first, second, third].sort(), 'one CLUSTER_PAUSED per cluster');
  });
});
