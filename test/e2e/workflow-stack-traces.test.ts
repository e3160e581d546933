// FLEETVIEW_WORKER_WORKFLOW_STACK_TRACES on a real worker: off (the default), the SDK's stack trace
// query, the Web UI's Stack Trace tab, finds no frames in a cluster workflow; on, it shows where
// the workflow waits, in our source.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { refreshNowUpdate } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { testConfig } from '../helpers/test-config.js';
import { uniqueName } from '../helpers/unique.js';

let withTraces: RefresherFixture | undefined;
let withoutTraces: RefresherFixture | undefined;

before(async () => {
  withTraces = await startRefresherFixture(testConfig({ FLEETVIEW_WORKER_WORKFLOW_STACK_TRACES: 'true' }), { nodes: 1, idPrefix: `${uniqueName('traces-on')}-` });
  withoutTraces = await startRefresherFixture(testConfig({ FLEETVIEW_WORKER_WORKFLOW_STACK_TRACES: 'false' }), { nodes: 1, idPrefix: `${uniqueName('traces-off')}-` });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the fixture with stack traces': () => withTraces?.close(),
      'closing the fixture without stack traces': () => withoutTraces?.close(),
    }),
  cleanupBound,
);

/** The stack trace query's answer once the workflow has refreshed and waits for its next slot. */
async function stackTraceOf(fixture: RefresherFixture): Promise<string> {
  await fixture.handle.executeUpdate(refreshNowUpdate);
  return fixture.handle.query<string>('__stack_trace');
}

it('a worker with stack traces on shows where a cluster workflow waits, in its source', async () => {
  const trace = await stackTraceOf(withTraces!);
  assert.match(trace, /at .*cluster-refresh\.ts/, `no frame of cluster-refresh.ts in:\n${trace}`);
});

it('with stack traces off, the default, the worker records no stack frames for workflow promises', async () => {
  const trace = await stackTraceOf(withoutTraces!);
  assert.doesNotMatch(trace, /\bat\b/, `expected no frames, got:\n${trace}`);
});
