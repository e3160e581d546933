// The worker as `npm start` runs it (scripts/start-worker.sh) runs on jemalloc, which
// scripts/services.sh installs; an operator's own LD_PRELOAD, even empty, is left alone.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanUp, cleanupBound } from '../helpers/bounded.js';
import { freePort } from '../helpers/isolated-service.js';
import { eventually } from '../helpers/polling.js';
import { testConfig } from '../helpers/test-config.js';
import { spawnWorkerProcess } from '../helpers/worker.js';

const config = testConfig();
const workers: ChildProcess[] = [];
const startBound = { timeout: 240_000 } as const;

after(
  () =>
    cleanUp({
      'killing the worker processes': () => {
        for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    }),
  cleanupBound,
);

/** The shared libraries of a worker started with `env`, read once it serves metrics (fully started). */
async function librariesOfStartedWorker(env: Record<string, string>): Promise<string> {
  const metricsPort = await freePort();
  const child = spawnWorkerProcess(config, { ...env, FLEETVIEW_METRICS_PORT: String(metricsPort) });
  workers.push(child);
  await eventually(
    'the worker serves metrics',
    async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited ${child.exitCode}`);
      return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) })).ok || undefined;
    },
    180_000,
  );
  const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
  child.kill('SIGTERM');
  return maps;
}

it('the worker runs on jemalloc', startBound, async () => {
  const library = execFileSync('sh', [fileURLToPath(new URL('../../scripts/jemalloc-library.sh', import.meta.url))], { encoding: 'utf8' }).trim();
  assert.notEqual(library, '', 'no jemalloc on this machine: scripts/services.sh tools installs Debian\'s libjemalloc2');
  const maps = await librariesOfStartedWorker({});
  assert.ok(maps.includes(library), `the worker's process does not map ${library}`);
});

it('an LD_PRELOAD set by the operator, even empty, is left alone: the worker runs on libc malloc', startBound, async () => {
  const maps = await librariesOfStartedWorker({ LD_PRELOAD: '' });
  assert.doesNotMatch(maps, /libjemalloc/, 'the worker maps jemalloc although LD_PRELOAD was set (empty)');
});
