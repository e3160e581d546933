#!/usr/bin/env node
// `npm test`: installs dependencies when missing or stale, type-checks, lints, makes sure the
// three real services answer (starting them through scripts/services.sh when they do not),
// runs every test file, then stops the services it started itself.
//   npm test                      everything
//   npm test -- test/unit         only the test files under the given paths
//   npm test -- --skip-checks     no type-check and lint
// Plain JavaScript on purpose: it must run before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDependencies } from './dependencies.mjs';
import { runTestFiles } from './test-runner.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const skipChecks = args.includes('--skip-checks');
const paths = args.filter((a) => !a.startsWith('--'));

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`npm test: ${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

function step(title) {
  console.log(`\n== ${title}`);
}

function mustRun(title, command, commandArgs) {
  step(title);
  const status = run(command, commandArgs);
  if (status !== 0) {
    console.error(`\nnpm test: ${title} failed (exit ${status})`);
    process.exit(status);
  }
}

// 1. Dependencies: `npm ci` when node_modules is missing or was installed from another lockfile.
ensureDependencies(root);

// 2. Static checks.
if (!skipChecks) {
  mustRun('type-check (tsc --noEmit)', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  mustRun('lint (eslint)', 'npx', ['eslint', '--max-warnings', '0', '.']);
}

// 3. The test files, chosen before the services so a typo in a path fails fast.
function findTests(dir) {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return dir.endsWith('.test.ts') ? [dir] : [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => findTests(join(dir, entry.name)))
    .sort();
}
const roots = paths.length > 0 ? paths.map((p) => resolve(root, p)) : [join(root, 'test')];
const files = roots.flatMap(findTests).map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`npm test: no *.test.ts files under ${roots.map((r) => relative(root, r) || '.').join(', ')}`);
  process.exit(1);
}
const needsServices = files.some((f) => !f.startsWith(join('test', 'unit')));

// 4. Services: use the ones answering on the configured addresses, else start them.
// Only the services this run starts are stopped at the end: others (a developer's, another
// run's) are running for somebody else.
let startedServices = [];
if (needsServices) {
  step('services');
  run('bash', ['scripts/services.sh', 'tools']);
  const probe = run('node', ['--import', 'tsx', 'scripts/probe-services.ts']);
  if (probe !== 0) {
    const statusLines = spawnSync('bash', ['scripts/services.sh', 'status'], { cwd: root, encoding: 'utf8' }).stdout.split('\n');
    const serviceLines = statusLines.map((line) => /^(\w+)\s+(up|down)\b/.exec(line)).filter(Boolean);
    mustRun('starting services (scripts/services.sh start)', 'bash', ['scripts/services.sh', 'start']);
    startedServices = serviceLines.filter((match) => match[2] === 'down').map((match) => match[1]);
  }
  // The cluster profile's test starts the profile itself; its first install builds Temporal from
  // source (minutes), which belongs here, not inside one test file's time bound.
  if (files.some((f) => f.endsWith('temporal-cluster.test.ts'))) {
    mustRun('installing the cluster profile (scripts/services.sh --profile cluster install)', 'bash', ['scripts/services.sh', '--profile', 'cluster', 'install']);
  }
}

// 5. The suite: each file in its own process group under node's test runner, a bound per file and
// one for the whole run (scripts/test-runner.mjs). Files share the machine two at a time; a file
// marked `// test-runner: alone` (it measures time, or needs the cores) runs by itself.
const settings = {
  concurrency: positiveNumber('FLEETVIEW_TEST_CONCURRENCY', 2),
  fileTimeoutMs: positiveNumber('FLEETVIEW_TEST_FILE_TIMEOUT_S', 600) * 1000,
  suiteTimeoutMs: positiveNumber('FLEETVIEW_TEST_SUITE_TIMEOUT_MIN', 60) * 60_000,
};
step(`tests (${files.length} files, ${settings.concurrency} at a time, at most ${settings.fileTimeoutMs / 1000} s each, ${settings.suiteTimeoutMs / 60_000} min in all)`);
const { results, seconds } = await runTestFiles({
  root,
  files,
  outDir: mkdtempSync(join(tmpdir(), 'fleetview-test-')),
  ...settings,
  env: { ...process.env, FLEETVIEW_TEST_RUN_ID: process.env.FLEETVIEW_TEST_RUN_ID ?? `${Date.now().toString(36)}` },
  log: (line) => console.log(line),
});
const total = (key) => results.reduce((sum, result) => sum + result[key], 0);
const failedFiles = results.filter((result) => result.failed > 0);
console.log(`
== slowest files (${(seconds / 60).toFixed(1)} min of wall time for ${results.length} files)`);
for (const result of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8)) console.log(`  ${result.seconds.toFixed(1).padStart(6)} s  ${result.file}`);
if (failedFiles.length > 0) {
  console.log(`
== failed: ${failedFiles.map((result) => `${result.file}${result.stopped ? ` (${result.stopped})` : ''}`).join(', ')}`);
  // Again at the end, where a truncated log still shows it.
  for (const result of failedFiles) console.log(`\n-- ${result.file}:\n${(result.digest || '(no output)').replace(/^/gm, '   | ')}`);
}
console.log(`
tests: ${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped`);
const status = failedFiles.length > 0 ? 1 : 0;

if (startedServices.length > 0 && process.env.FLEETVIEW_KEEP_SERVICES !== '1') {
  step(`stopping the services this run started: ${startedServices.join(', ')} (FLEETVIEW_KEEP_SERVICES=1 keeps them)`);
  run('bash', ['scripts/services.sh', 'stop', ...startedServices]);
}
process.exit(status);
