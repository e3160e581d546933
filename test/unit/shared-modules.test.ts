// The workflow bundle as the worker builds it: every domain module in it is one of the modules
// every workflow shares (src/workflows/shared-modules.ts), and the shared modules' data is frozen.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import { clusterRefreshDefaults } from '../../src/domain/refresh-cycle.js';
import { sharedWorkflowModules, workflowsPath } from '../../src/worker.js';
import { sharedModuleNames } from '../../src/workflows/shared-modules.js';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

it('every src/domain module of the workflow bundle is preloaded, shared by all workflows', { timeout: 120_000 }, async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), preloadModules: sharedWorkflowModules(), logger: quiet });
  const bundled = [...code.matchAll(/^\/\*{3}\/ "\.\/src\/domain\/([a-z0-9-]+)\.[jt]s"/gm)].map((match) => match[1]!);
  assert.ok(bundled.length > 0, 'no src/domain module found in the bundle: has webpack changed how it names modules?');
  assert.deepEqual(
    [...new Set(bundled)].sort(),
    [...sharedModuleNames].sort(),
    'src/workflows/shared-modules.ts must list exactly the src/domain modules the workflows import (each unlisted one is evaluated again for every workflow)',
  );
  // assert.ok, not assert.match: a failure would print the whole bundle (2 MB).
  assert.ok(/exports\.preloadModules = function preloadModules\(\) \{\s+__webpack_require__\([^)]*"\.\/src\/workflows\/shared-modules\.ts"\);\s+\}/.test(code), 'the bundle preloads src/workflows/shared-modules.ts');
});

it('the shared modules\' exported data is frozen: a workflow cannot change what the others read', () => {
  assert.ok(Object.isFrozen(clusterRefreshDefaults));
  assert.throws(() => {
    (clusterRefreshDefaults as { refresh_interval_s: number }).refresh_interval_s = 1;
  }, TypeError);
});
