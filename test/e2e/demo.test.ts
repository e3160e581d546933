// `npm run demo -- --once`, exactly as a new user runs it (with names of its own, so it never
// meets another test): it plays the scenario on the real services, checks that every expected
// event arrived, exits 0, and leaves nothing running behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { cleanUp, cleanupBound } from '../helpers/bounded.js';
import { discoveryConfigEnv } from '../helpers/discovery.js';
import { connectClient } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig({ FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('demo-schedule') });
const root = fileURLToPath(new URL('../..', import.meta.url));

after(() => {
  let mongo: ClusterStore | undefined;
  return cleanUp({
    'dropping the test database': async () => {
      mongo = await createClusterStore(config.mongodb);
      await mongo.db.dropDatabase().catch(() => undefined);
    },
    'closing the MongoDB store': () => mongo?.close(),
  });
}, cleanupBound);

it('npm run demo -- --once plays the scenario, sees every expected event and stops what it started', async () => {
  // The fleet page on a free port: a `fleetview ui` of a developer (or another test) may hold 8235.
  const env: NodeJS.ProcessEnv = { ...process.env, ...discoveryConfigEnv(config), FLEETVIEW_UI_PORT: '0' };
  // The demo's own defaults (a 2 s tick and refresh interval) are what a user gets.
  delete env.FLEETVIEW_DISCOVERY_TICK_S;
  delete env.FLEETVIEW_REFRESH_INTERVAL_S;
  const demo = spawn('npm', ['run', 'demo', '--', '--once'], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  demo.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => demo.kill('SIGINT'), 240_000);
  const code = await new Promise<number | null>((resolve) => demo.on('close', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `the demo failed:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`);

  assert.match(stdout, /== summary: 9 steps, all \d+ expected events arrived/);
  assert.equal(stdout.match(/^ {4}ok: \d+ expected events in [\d.]+ s$/gm)?.length, 9);
  assert.match(stdout, /== Web UI: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows/);
  assert.match(stdout, /== fleet page: http:\/\/127\.0\.0\.1:\d+\/ /, 'the fleet page beside the Web UI');
  for (const event of ['CLUSTER_NEW', 'AGENT_DOWN', 'AGENT_UP', 'NODE_DOWN', 'NODE_UP', 'SHARD_PRIMARY_CHANGED', 'CLUSTER_CHANGED', 'NODE_RETIRED', 'CLUSTER_RETIRED']) {
    assert.match(stdout, new RegExp(`Z  demo-[0-9a-f]{4}-\\S+\\s+${event} `), `a readable ${event} line`);
  }

  // Nothing left behind: the schedule is gone and no demo cluster still has a running workflow.
  const clusters = /== sim fleet at \S+: (\S+), (\S+), (\S+) /.exec(stdout)?.slice(1) ?? [];
  assert.equal(clusters.length, 3);
  const temporal = await connectClient(config);
  try {
    await assert.rejects(temporal.client.schedule.getHandle(config.discovery.scheduleId).describe(), ScheduleNotFoundError);
    for (const id of clusters) {
      const status = (await temporal.client.workflow.getHandle(`cluster/${id}`).describe()).status.name;
      assert.notEqual(status, 'RUNNING', `cluster/${id} is ${status}`);
    }
  } finally {
    await temporal.close();
  }
});
