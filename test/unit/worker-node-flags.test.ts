// `npm start` runs the worker with the flags every other launcher takes from src/worker-node-flags.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { workerNodeFlags } from '../../src/worker-node-flags.js';

it('npm start passes the worker its Node flags', () => {
  const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  for (const flag of workerNodeFlags) assert.ok(start.split(' ').includes(flag), `package.json's start script (${start}) lacks ${flag}`);
});
