// Continue-as-new against a Temporal server of the test's own that suggests it after a few
// dozen history events: the view survives, the generation keeps growing, messages still work.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { refreshNowUpdate, viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { testConfig } from '../helpers/test-config.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

let temporalServer: IsolatedService;
let fixture: RefresherFixture | undefined;

before(async () => {
  const port = await freePort();
  temporalServer = isolatedService('temporal', {
    FLEETVIEW_TEMPORAL_PORT: String(port),
    FLEETVIEW_TEMPORAL_UI_PORT: String(await freePort()),
    FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG: 'limit.historyCount.suggestContinueAsNew=40',
  });
  temporalServer.start();
  fixture = await startRefresherFixture(testConfig({ FLEETVIEW_TEMPORAL_ADDRESS: `127.0.0.1:${port}` }), { nodes: 2, idPrefix: `${uniqueName('can')}-` });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the refresher fixture': () => fixture?.close(),
      'stopping the isolated Temporal server': () => temporalServer?.dispose(),
    }),
  cleanupBound,
);

it('continues as new when the server suggests it, carrying the view and the generation', async () => {
  const { handle, temporal } = fixture!;
  const firstRunId = (await handle.describe()).runId;
  let last = await handle.executeUpdate(refreshNowUpdate);
  const runIds = new Set([firstRunId]);
  // Each refresh of two nodes adds about 20 history events: a new run within a few refreshes.
  for (let i = 0; i < 12 && runIds.size < 3; i++) {
    const report = await handle.executeUpdate(refreshNowUpdate);
    assert.equal(report.generation, last.generation + 1, 'generations grow by one per refresh, across runs');
    last = report;
    runIds.add((await handle.describe()).runId);
  }
  assert.ok(runIds.size >= 3, `expected at least two continue-as-new, saw ${runIds.size - 1}`);
  const { view } = await handle.query(viewQuery);
  assert.equal(view?.generation, last.generation);
  assert.equal(view?.nodes, 2);
  // The first run ended by continuing as new, not by failing.
  const firstRun = temporal.client.workflow.getHandle(handle.workflowId, firstRunId);
  assert.equal((await firstRun.describe()).status.name, 'CONTINUED_AS_NEW');
});
