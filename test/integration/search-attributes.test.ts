// The workflows' search attributes on a real dev server of the test's own (the shared one is
// never changed): scripts/services.sh registers all of them and waits for them; `fleetview start`
// adds those a namespace lacks (here: two removed first, as on a server started before them) and
// says so; run again, it adds nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, it } from 'node:test';
import { fleetviewSearchAttributes } from '../../src/adapters/search-attributes.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, runFleetview } from '../helpers/cli.js';
import { discoveryConfigEnv } from '../helpers/discovery.js';
import { servicesEnv } from '../helpers/services-env.js';
import { testConfig } from '../helpers/test-config.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

let server: IsolatedService;
let address: string;
const temporalCli = servicesEnv().FLEETVIEW_TEMPORAL_CLI!;

function operator(args: string[]): string {
  const result = spawnSync(temporalCli, ['operator', 'search-attribute', ...args, '--address', address, '--namespace', 'default', '--command-timeout', '10s'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `temporal operator search-attribute ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The custom attributes listed with their types, e.g. { ClusterId: 'Keyword' }. */
function listed(): Record<string, string> {
  const names = Object.keys(fleetviewSearchAttributes);
  return Object.fromEntries(
    operator(['list'])
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([name]) => names.includes(name!))
      .map(([name, type]) => [name!, type!]),
  );
}

before(async () => {
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  server = isolatedService('temporal', { FLEETVIEW_TEMPORAL_PORT: String(port), FLEETVIEW_TEMPORAL_UI_PORT: String(await freePort()) });
  server.start();
}, setupBound);

after(() => cleanUp({ 'stop the dev server': () => server?.dispose() }), cleanupBound);

it('services.sh starts the dev server with every attribute the workflows set', () => {
  assert.deepEqual(listed(), fleetviewSearchAttributes);
});

it('fleetview start adds the attributes a namespace lacks, then finds them there', async () => {
  operator(['remove', '--name', 'FleetviewPaused', '--name', 'FleetviewMaintenance', '--yes']);
  assert.deepEqual(listed(), { ClusterId: 'Keyword' });

  const config = testConfig({ FLEETVIEW_TEMPORAL_ADDRESS: address, FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('sa-schedule'), FLEETVIEW_DISCOVERY_TICK_S: '3600' });
  const env = { ...process.env, ...discoveryConfigEnv(config) };
  const first = await runFleetview(['start'], env);
  expectExit(first, 0, 'start');
  assert.match(first.stdout, /^search {4}attributes on namespace default: added FleetviewPaused, FleetviewMaintenance; ClusterId already there$/m);
  assert.deepEqual(listed(), fleetviewSearchAttributes);

  const second = await runFleetview(['start'], env);
  expectExit(second, 0, 'start again');
  assert.match(second.stdout, /^search {4}attributes on namespace default: ClusterId, FleetviewPaused, FleetviewMaintenance already there$/m);
});
