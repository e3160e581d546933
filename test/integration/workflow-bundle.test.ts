// The workflow bundle built in a child process (src/workflow-bundle.ts): the code of the workflows
// the worker registers, once per process, and a clear error when bundling fails.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger } from '../../src/adapters/logger.js';
import { sharedWorkflowModules, workflowsPath } from '../../src/worker.js';
import { workflowBundleCode } from '../../src/workflow-bundle.js';

const lines: string[] = [];
const logger = createLogger('debug', {}, (line) => lines.push(line));
const bound = { timeout: 200_000 } as const;

it('bundles the workflows in a child process, once per process', bound, async () => {
  const request = { workflowsPath: workflowsPath(), preloadModules: sharedWorkflowModules() };
  const first = workflowBundleCode(request, logger, 180_000);
  assert.equal(workflowBundleCode(request, logger, 180_000), first, 'a second request for the same bundle built it again');
  const code = await first;
  assert.match(code, /clusterRefresh/);
  assert.match(code, /shared-modules/);
  assert.ok(lines.some((line) => line.includes('"source":"workflow bundler"')), `the bundler's log lines did not reach the worker's log:\n${lines.join('')}`);
});

it('names the workflows path and the cause when bundling fails, and tries again next time', bound, async () => {
  const request = { workflowsPath: '/nonexistent/fleetview-workflows.ts', preloadModules: [] };
  const failed = workflowBundleCode(request, logger, 180_000);
  await assert.rejects(failed, /bundling the workflow code failed \(\/nonexistent\/fleetview-workflows\.ts\): .+/);
  const again = workflowBundleCode(request, logger, 180_000);
  assert.notEqual(again, failed, 'the failed bundle was kept');
  await assert.rejects(again, /bundling the workflow code failed/);
});

it('gives up after its timeout', bound, async () => {
  await assert.rejects(workflowBundleCode({ workflowsPath: workflowsPath(), preloadModules: ['timeout-case'] }, logger, 1), /took longer than 1 ms/);
});
