// `npm start` runs the worker through scripts/start-worker.sh, with the flags src/worker.ts sets
// itself when started otherwise (src/worker-node-flags.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { workerNodeFlags } from '../../src/worker-node-flags.js';

it('npm start runs the worker through scripts/start-worker.sh', () => {
  const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  assert.equal(start, 'sh scripts/start-worker.sh');
});

it('scripts/start-worker.sh passes the worker its Node flags', () => {
  const launcher = readFileSync(new URL('../../scripts/start-worker.sh', import.meta.url), 'utf8');
  const nodeCommand = launcher.split('\n').find((line) => line.startsWith('exec node '));
  assert.ok(nodeCommand, 'scripts/start-worker.sh has no `exec node ...` line');
  for (const flag of workerNodeFlags) assert.ok(nodeCommand.split(' ').includes(flag), `scripts/start-worker.sh (${nodeCommand}) lacks ${flag}`);
});
