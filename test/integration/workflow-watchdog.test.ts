// The workflow watchdog (src/adapters/workflow-isolate-watchdog.ts), on real workers against the
// shared dev server: off (fleetview's default), an activation that computes for a second or more
// completes; on at 100 ms, the same activation fails its workflow task as the SDK's own bound
// would (and is retried), which is what the setting promises.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger } from '../../src/adapters/logger.js';
import { setWorkflowWatchdog } from '../../src/adapters/workflow-isolate-watchdog.js';
import type { busyWorkflow } from '../fixtures/busy-workflow.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig();
const logger = createLogger('warn', { test: true });
const workflowsPath = fileURLToPath(new URL('../fixtures/busy-workflow.ts', import.meta.url));
// Some hundreds of milliseconds to seconds of CPU on any machine this runs on: far past 100 ms.
const iterations = 400_000_000;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let connection: NativeConnection;

before(async () => {
  temporal = await connectClient(config);
  connection = await NativeConnection.connect({ address: config.temporal.address });
}, setupBound);

after(
  () =>
    cleanUp({
      'restoring no watchdog': () => setWorkflowWatchdog(null, logger),
      'closing the worker connection': () => connection?.close(),
      'closing the client': () => temporal?.close(),
    }),
  cleanupBound,
);

async function workerWith(taskQueue: string): Promise<Worker> {
  return Worker.create({ connection, namespace: config.temporal.namespace, taskQueue, workflowsPath });
}

it('off: a long activation completes', async () => {
  assert.equal(setWorkflowWatchdog(null, logger), true, 'the SDK is one the watchdog setting knows');
  const taskQueue = uniqueName('watchdog-off');
  const worker = await workerWith(taskQueue);
  const started = Date.now();
  const result = await worker.runUntil(
    temporal.client.workflow.execute<typeof busyWorkflow>('busyWorkflow', { taskQueue, workflowId: uniqueName('busy'), args: [iterations], workflowExecutionTimeout: '2 minutes' }),
  );
  assert.equal(typeof result, 'number');
  assert.ok(Date.now() - started > 100, 'the activation took longer than the bound tried below');
});

it('on at 100 ms: the same activation fails its workflow task, naming the timeout', async () => {
  assert.equal(setWorkflowWatchdog(100, logger), true);
  const taskQueue = uniqueName('watchdog-on');
  const worker = await workerWith(taskQueue);
  const handle = await temporal.client.workflow.start<typeof busyWorkflow>('busyWorkflow', { taskQueue, workflowId: uniqueName('busy'), args: [iterations], workflowExecutionTimeout: '2 minutes' });
  try {
    await worker.runUntil(async () => {
      await waitUntil(
        async () => (await handle.fetchHistory()).events?.some((event) => event.workflowTaskFailedEventAttributes) ?? false,
        60_000,
        'no failed workflow task',
      );
    });
    const failed = (await handle.fetchHistory()).events?.find((event) => event.workflowTaskFailedEventAttributes);
    assert.match(failed?.workflowTaskFailedEventAttributes?.failure?.message ?? '', /timed out|deadlock/i);
  } finally {
    await handle.terminate('test finished').catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
  }
});
