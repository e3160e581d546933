// Runs test files, each in a process group of its own under node's test runner, a few at a time,
// and never without a bound: a file past its deadline is stopped and named with the tail of its
// output, and past the suite's deadline every file still running is. Each file's output is
// printed whole when it ends (files that run together do not interleave), and its results counted.
// Plain JavaScript: npm test runs it before node_modules may exist.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A file whose first lines hold `// test-runner: alone` runs with no other file beside it
 * (it measures time, or starts services of its own that need the machine).
 */
export function runsAlone(file) {
  const head = readFileSync(file, 'utf8').split('\n', 12).join('\n');
  return /^\/\/ test-runner: alone\b/m.test(head);
}

/**
 * Counts of a file's spec output: the runner's summary (`ℹ pass N`) when it got that far, else its
 * top-level result lines. (Spec on stdout, not TAP to a file: --test-force-exit ends the process
 * before a reporter's file stream is flushed, while stdout, a pipe, is written synchronously.)
 */
export function countSpec(output) {
  const summary = (name) => {
    const match = new RegExp(`^ℹ ${name} (\\d+)$`, 'm').exec(output);
    return match ? Number(match[1]) : null;
  };
  if (summary('pass') !== null) {
    return {
      passed: summary('pass'),
      failed: (summary('fail') ?? 0) + (summary('cancelled') ?? 0),
      skipped: (summary('skipped') ?? 0) + (summary('todo') ?? 0),
      complete: true,
    };
  }
  const lines = output.split('\n');
  const top = (mark) => lines.filter((line) => line.startsWith(`${mark} `)).length;
  return { passed: top('✔'), failed: top('✖'), skipped: 0, complete: false };
}

/**
 * The command line of one test file as npm test runs it: tsx and the exit guard loaded, node's
 * runner ending the process after the last hook, a bound per test and per file.
 */
export function testFileArgs(file, { timeoutMs, reporter }) {
  return [
    '--import', 'tsx',
    '--import', './test/helpers/exit-guard.mjs',
    '--test',
    '--test-force-exit',
    `--test-timeout=${timeoutMs}`,
    `--test-reporter=${reporter}`,
    file,
  ];
}

/**
 * What a failed file said about its failures, short enough to print again at the end of the run
 * (CI keeps the tail of a long log): the runner's "failing tests" section with node-internal stack
 * frames dropped, else (a file stopped or crashed before its summary) the last lines it printed.
 */
export function failureDigest(output, maxLines = 60) {
  const marker = output.lastIndexOf('✖ failing tests:');
  if (marker < 0) return tail(output, 30);
  const lines = output
    .slice(marker)
    .split('\n')
    .filter((line) => !/^\s+at .*(node:internal|node:async_hooks|node_modules)/.test(line));
  const kept = lines.slice(0, maxLines);
  if (lines.length > maxLines) kept.push(`… ${lines.length - maxLines} more lines in the file's output above`);
  return kept.join('\n').trimEnd();
}

function tail(text, lines) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * @param {object} options
 * @param {string} options.root           where the files' paths are relative to
 * @param {string[]} options.files
 * @param {string} options.outDir         per-file output
 * @param {number} options.concurrency    files at once (files that run alone excepted)
 * @param {number} options.fileTimeoutMs  bound of one file
 * @param {number} options.suiteTimeoutMs bound of the whole run
 * @param {NodeJS.ProcessEnv} options.env
 * @param {(line: string) => void} options.log
 */
export async function runTestFiles(options) {
  const { root, files, outDir, concurrency, fileTimeoutMs, suiteTimeoutMs, env, log } = options;
  const started = Date.now();
  const queue = files.map((file, index) => ({ file, index, alone: runsAlone(join(root, file)) }));
  // Files that run alone go first, while nothing else is running; the rest share the lanes.
  queue.sort((a, b) => Number(b.alone) - Number(a.alone) || a.index - b.index);
  const running = new Map();
  const results = [];
  let suiteExpired = false;

  const stopGroup = (job, why) => {
    if (job.stopped) return;
    job.stopped = why;
    try {
      process.kill(-job.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    job.killTimer = setTimeout(() => {
      try {
        process.kill(-job.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
  };

  const startJob = (entry) => {
    const base = entry.file.replace(/[\\/]/g, '__');
    const specFile = join(outDir, `${base}.spec.txt`);
    const out = createWriteStream(specFile);
    const child = spawn(process.execPath, testFileArgs(entry.file, { timeoutMs: fileTimeoutMs, reporter: 'spec' }), {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const job = { ...entry, child, specFile, out, startedAt: Date.now(), stopped: null, killTimer: null };
    job.fileTimer = setTimeout(() => stopGroup(job, `still running after the file's bound of ${fileTimeoutMs / 1000} s`), fileTimeoutMs + 30_000);
    running.set(entry.file, job);
    log(`▶ ${entry.file}${entry.alone ? ' (alone)' : ''}`);
    return new Promise((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(job.fileTimer);
        clearTimeout(job.killTimer);
        running.delete(entry.file);
        out.end(() => {
          const output = existsSync(specFile) ? readFileSync(specFile, 'utf8') : '';
          const counts = countSpec(output);
          const failedRun = code !== 0 || job.stopped !== null;
          // A file stopped or crashed before its summary: one failure more for the file itself.
          if (failedRun && (!counts.complete || counts.failed === 0)) counts.failed += 1;
          const seconds = (Date.now() - job.startedAt) / 1000;
          const digest = failedRun || counts.failed > 0 ? failureDigest(output) : '';
          results.push({ file: entry.file, seconds, ...counts, code, signal, stopped: job.stopped, digest });
          const verdict = job.stopped ? `STOPPED: ${job.stopped}` : code === 0 ? 'ok' : `FAILED (exit ${code ?? signal})`;
          log(`\n── ${entry.file}: ${verdict}, ${seconds.toFixed(1)} s, ${counts.passed} passed, ${counts.failed} failed`);
          log(output.trimEnd());
          resolve();
        });
      });
    });
  };

  const suiteTimer = setTimeout(() => {
    suiteExpired = true;
    log(`\n!! the suite ran past its bound of ${suiteTimeoutMs / 60_000} min; still running:`);
    for (const job of running.values()) {
      const output = existsSync(job.specFile) ? readFileSync(job.specFile, 'utf8') : '';
      log(`  ${job.file} (for ${((Date.now() - job.startedAt) / 1000).toFixed(0)} s), its last lines:\n${tail(output, 15).replace(/^/gm, '    | ')}`);
      stopGroup(job, `the suite's bound of ${suiteTimeoutMs / 60_000} min`);
    }
  }, suiteTimeoutMs);
  const heartbeat = setInterval(() => {
    if (running.size === 0) return;
    const now = Date.now();
    log(`… running: ${[...running.values()].map((job) => `${job.file} (${((now - job.startedAt) / 1000).toFixed(0)} s)`).join(', ')}`);
  }, 120_000);

  // Files run in process groups of their own, which a Ctrl-C at the terminal does not reach: pass it on.
  const interrupt = (signal) => {
    suiteExpired = true;
    log(`\n!! ${signal}: stopping ${running.size} running file(s)`);
    for (const job of running.values()) stopGroup(job, `interrupted (${signal})`);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  // A file that runs alone starts on an empty machine, and nothing starts beside it.
  const canStart = (entry) =>
    ![...running.values()].some((job) => job.alone) && (entry.alone ? running.size === 0 : running.size < concurrency);
  const ends = new Map();
  for (;;) {
    while (!suiteExpired && queue.length > 0 && canStart(queue[0])) {
      const entry = queue.shift();
      ends.set(entry.file, startJob(entry).then(() => ends.delete(entry.file)));
    }
    if (ends.size === 0) break;
    await Promise.race(ends.values());
  }
  clearTimeout(suiteTimer);
  clearInterval(heartbeat);
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  for (const entry of queue) results.push({ file: entry.file, seconds: 0, passed: 0, failed: 1, skipped: 0, stopped: 'not started: the suite ran out of time' });
  return { results, seconds: (Date.now() - started) / 1000 };
}
