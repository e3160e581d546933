#!/usr/bin/env node
// Runs one test file N times in a row, as npm test runs it (its own process, the exit guard,
// --test-force-exit), and reports each run: passed or not, how long, and how long its process
// took to end after its last test had reported: a file that does not let go shows there.
//   node scripts/repeat-test.mjs test/e2e/event-ids.test.ts 20
// Stops at the first failing run unless --keep-going. The services must be running
// (npm test leaves them with FLEETVIEW_KEEP_SERVICES=1, or scripts/services.sh start).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testFileArgs } from './test-runner.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const keepGoing = args.includes('--keep-going');
const [file, countArg = '10'] = args.filter((arg) => !arg.startsWith('--'));
const count = Number(countArg);
if (!file || !Number.isSafeInteger(count) || count < 1) {
  console.error('usage: node scripts/repeat-test.mjs FILE [COUNT] [--keep-going]');
  process.exit(2);
}
const boundMs = 15 * 60_000;

function runOnce() {
  return new Promise((done) => {
    const started = Date.now();
    let lastResultAt = started;
    let passed = 0;
    let failed = 0;
    const output = [];
    const child = spawn(process.execPath, testFileArgs(file, { timeoutMs: boundMs, reporter: 'tap' }), {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), boundMs + 30_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        // A top-level result line of one test (not the file's own, which names a path).
        if (/^(not )?ok \d+ - /.test(line) && !line.includes(file)) {
          lastResultAt = Date.now();
          if (line.startsWith('ok')) passed += 1;
          else failed += 1;
        }
      });
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      const ended = Date.now();
      done({ code, passed, failed, seconds: (ended - started) / 1000, afterLastTest: (ended - lastResultAt) / 1000, output });
    });
  });
}

const runs = [];
for (let i = 1; i <= count; i++) {
  const run = await runOnce();
  runs.push(run);
  const ok = run.code === 0 && run.failed === 0;
  console.log(`run ${String(i).padStart(2)}: ${ok ? 'ok    ' : 'FAILED'} ${run.passed} passed, ${run.failed} failed, exit ${run.code}, ${run.seconds.toFixed(1)} s, process ended ${run.afterLastTest.toFixed(2)} s after its last test`);
  if (!ok) {
    console.log(run.output.slice(-60).join('\n'));
    if (!keepGoing) break;
  }
}
const sorted = (values) => [...values].sort((a, b) => a - b);
const median = (values) => sorted(values)[Math.floor(values.length / 2)];
const green = runs.filter((run) => run.code === 0 && run.failed === 0).length;
const gaps = runs.map((run) => run.afterLastTest);
console.log(
  `\n${green} of ${runs.length} runs green; run time median ${median(runs.map((run) => run.seconds)).toFixed(1)} s; ` +
    `end after the last test: median ${median(gaps).toFixed(2)} s, max ${Math.max(...gaps).toFixed(2)} s`,
);
process.exit(green === runs.length ? 0 : 1);
