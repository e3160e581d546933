/**
 * The whole-fleet benchmark: fleetview as operators run it (the real Temporal, Kafka and store,
 * one worker process or --workers N on one task queue, discovery through the CLI) on simulated
 * fleets of growing size, next to two anchors on the same sim fleet: Prometheus scraping every
 * node with one alerting rule, and a bare HTTP poller doing the agent calls of a refresh and
 * nothing else. --temporal cluster runs it on scripts/services.sh's cluster profile (PostgreSQL,
 * a process per Temporal service, three Kafka brokers) instead of the dev server's services.
 *
 *   npm run bench:fleet -- --clusters 100,300,1000 --nodes 3 --interval 15 --measure 120
 *
 * Per size, one after the other on the same sim: fleetview (onboarding, and beside it a
 * steady-state window from one interval after the discovery run; then detection), Prometheus
 * (targets up, a window, detection), the bare poller (a window); --no-anchors leaves out the
 * two anchors. Sequential, so each window's CPU is its own. --repeat N runs each size N times
 * in a row, each run on its own (names, sim, cleanup), and sums them up as median and worst.
 * Every phase is bounded in time; a size that does not keep up is measured and reported as
 * such. Everything started is stopped and everything stored is deleted, also on failure and on
 * SIGINT/SIGTERM. Results: tables on stdout and bench/results/fleet.json (--out elsewhere).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { Cleanup } from './fleet/cleanup.js';
import { runFleetview, runNames, windowStartRule, type FleetviewResult, type FleetviewSettings } from './fleet/fleetview-run.js';
import { exitWithUsageIf, positiveInteger } from './fleet/options.js';
import { runPollerAnchor, type PollerResult } from './fleet/poller-anchor.js';
import { startedGroups } from './fleet/processes.js';
import { runPrometheusAnchor, type PrometheusResult } from './fleet/prometheus-anchor.js';
import { ratios, sizeTable, type SizeResult } from './fleet/report.js';
import { describeMachine, ensureServices, ensureTool, gitCommit, machine, stopServices, versions, type TemporalKind } from './fleet/services.js';
import { startSimProcess, type SimProcess } from './fleet/sim-process.js';
import { sizeRuns, summaryTable, type SizeRuns } from './fleet/summary.js';
import { databaseText, profileEnv, serviceGroups, temporalDatabase, temporalTarget } from './fleet/temporal-profile.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const usage = `usage: npm run bench:fleet -- [options]

  --clusters LIST            cluster counts, one size each (default 100; e.g. 100,300,1000)
  --nodes N                  nodes per cluster (default 3)
  --interval S               refresh, scrape and poll interval in seconds (default 15)
  --measure S                each measuring window in seconds (default 120)
  --tick S                   discovery schedule tick in seconds (default 5)
  --discovery-interval S     interval of the benchmark's discovery (default 60)
  --faults K                 datastores (and agents) set down for detection (default 10)
  --history-sample N         cluster workflows whose histories are counted (default 5)
  --onboarding-timeout S     default max(120, clusters / 5)
  --repeat N                 runs of each size in a row, each on its own names, sim and
                             cleanup; a median | worst table per size after them (default 1)
  --no-anchors               fleetview only: no Prometheus and no bare-poller phase (each takes
                             another window per run); the ratios are then null
  --window-after-onboarding  the steady-state window starts one interval after onboarding
                             completed (default: one interval after the discovery run ended,
                             so a slow onboarding is inside the window)
  --workers N                worker processes on the run's task queue, each its own metrics
                             port, log and process group (default 1); CPU and RSS per worker
                             and summed
  --temporal dev|cluster     dev: the services of scripts/services.sh (the Temporal dev server);
                             cluster: its --profile cluster (PostgreSQL, a process per Temporal
                             service, three Kafka brokers, its own store), started when it does
                             not answer, with the settings its \`env\` prints (default dev)
  --worker-cpu-prof DIR      the worker runs as node --cpu-prof --import tsx src/worker.ts and
                             writes its CPU profile into DIR/<task queue> when it stops (several
                             workers: DIR/<task queue>/worker-N each; each gets 30 s from
                             SIGTERM for its drain and the profile)
  --out FILE                 results JSON (default bench/results/fleet.json)`;

interface Options {
  clusters: number[];
  nodes: number;
  intervalS: number;
  measureS: number;
  tickS: number;
  discoveryIntervalS: number;
  faults: number;
  historySample: number;
  onboardingTimeoutS: number | null;
  repeat: number;
  anchors: boolean;
  workers: number;
  temporal: TemporalKind;
  windowAfterOnboarding: boolean;
  workerCpuProfDir: string | null;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: 'string', default: '100' },
      nodes: { type: 'string', default: '3' },
      interval: { type: 'string', default: '15' },
      measure: { type: 'string', default: '120' },
      tick: { type: 'string', default: '5' },
      'discovery-interval': { type: 'string', default: '60' },
      faults: { type: 'string', default: '10' },
      'history-sample': { type: 'string', default: '5' },
      'onboarding-timeout': { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'no-anchors': { type: 'boolean', default: false },
      workers: { type: 'string', default: '1' },
      'window-after-onboarding': { type: 'boolean', default: false },
      temporal: { type: 'string', default: 'dev' },
      'worker-cpu-prof': { type: 'string' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'fleet.json') },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  exitWithUsageIf(values.help, usage);
  const positive = positiveInteger;
  if (values.temporal !== 'dev' && values.temporal !== 'cluster') throw new Error(`--temporal must be dev or cluster, got ${JSON.stringify(values.temporal)}`);
  return {
    clusters: values.clusters.split(',').map((part) => positive('clusters', part.trim())),
    nodes: positive('nodes', values.nodes),
    intervalS: positive('interval', values.interval),
    measureS: positive('measure', values.measure),
    tickS: positive('tick', values.tick),
    discoveryIntervalS: positive('discovery-interval', values['discovery-interval']),
    faults: positive('faults', values.faults),
    historySample: positive('history-sample', values['history-sample']),
    onboardingTimeoutS: values['onboarding-timeout'] === undefined ? null : positive('onboarding-timeout', values['onboarding-timeout']),
    repeat: positive('repeat', values.repeat),
    anchors: !values['no-anchors'],
    workers: positive('workers', values.workers),
    windowAfterOnboarding: values['window-after-onboarding'],
    temporal: values.temporal,
    workerCpuProfDir: values['worker-cpu-prof'] === undefined ? null : resolve(values['worker-cpu-prof']),
    out: resolve(values.out),
  };
}

const log = (line: string): void => void process.stderr.write(`[bench:fleet] ${line}\n`);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n').slice(0, 6).join(' | ') : String(err);
}

/** The CPU profiles a worker wrote into its directory (none: it did not exit by itself in time). */
function cpuProfiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** Each worker's profile folder: the run's own with one worker, worker-N under it with several (bench/fleet/workers.ts). */
function workerProfileDirs(dir: string, workers: number): string[] {
  return workers === 1 ? [dir] : Array.from({ length: workers }, (_, i) => join(dir, `worker-${i + 1}`));
}

/** The two anchors on the same sim, one after the other; an anchor that cannot run leaves an error and a null. */
async function runAnchors(
  options: Options,
  cleanup: Cleanup,
  logDir: string,
  sim: SimProcess,
  faults: number,
  errors: string[],
): Promise<{ prometheus: PrometheusResult | null; poller: PollerResult | null }> {
  let prometheus: PrometheusResult | null = null;
  let poller: PollerResult | null = null;
  if (ensureTool(root, 'prometheus')) {
    log(`prometheus: scraping ${sim.nodes.length} targets through ${sim.url}/http_sd every ${options.intervalS} s`);
    try {
      prometheus = await runPrometheusAnchor(cleanup, root, logDir, sim, options.intervalS, options.measureS, faults);
    } catch (err) {
      errors.push(`prometheus: ${errorText(err)}`);
    }
  } else {
    errors.push('prometheus: not installed and scripts/services.sh tools could not install it');
  }

  log('bare poller');
  try {
    poller = await runPollerAnchor(cleanup, root, logDir, sim, options.intervalS, options.measureS);
  } catch (err) {
    errors.push(`poller: ${errorText(err)}`);
  }
  return { prometheus, poller };
}

async function runSize(
  options: Options,
  clusters: number,
  repeat: SizeResult['repeat'],
  cleanup: Cleanup,
  logDir: string,
  runId: string,
  serviceEnv: Record<string, string>,
): Promise<SizeResult> {
  const startedMs = Date.now();
  // Repeated runs of a size each get their own names: nothing of one run can count in the next.
  const tag = repeat.of > 1 ? `bench-${runId}-${clusters}-${repeat.run}` : `bench-${runId}-${clusters}`;
  const names = runNames(tag);
  const totalNodes = clusters * options.nodes;
  // At most a quarter of the nodes per kind of fault, so datastore and agent faults never share a node.
  const faults = Math.max(1, Math.min(options.faults, Math.floor(totalNodes / 4)));
  const errors: string[] = [];
  const notes: string[] = [];
  const profileDir = options.workerCpuProfDir === null ? null : join(options.workerCpuProfDir, tag);
  let fleetview: FleetviewResult | null = null;
  let prometheus: PrometheusResult | null = null;
  let poller: PollerResult | null = null;
  let workerProfiles: SizeResult['worker_cpu_profiles'] = null;
  const problemsBefore = cleanup.problems.length;
  const mark = cleanup.mark();
  // Each run's own: the database grows over the runs of a benchmark.
  const temporalDatabaseAtStart = temporalDatabase(options.temporal);
  log(
    `== ${clusters} clusters × ${options.nodes} nodes, interval ${options.intervalS} s${repeat.of > 1 ? `, run ${repeat.run} of ${repeat.of}` : ''}, names ${tag}, ` +
      `${options.workers} worker${options.workers === 1 ? '' : 's'}, Temporal ${options.temporal} (${databaseText(options.temporal, temporalDatabaseAtStart)})`,
  );
  try {
    const sizeLogDir = join(logDir, repeat.of > 1 ? `${clusters}-${repeat.run}` : String(clusters));
    mkdirSync(sizeLogDir, { recursive: true });
    const sim = await startSimProcess(root, sizeLogDir, clusters, options.nodes, names.sim_id_prefix);
    cleanup.add('stopping the sim', () => sim.group.stop(10_000));
    log(`sim ready at ${sim.url} (${sim.nodes.length} nodes)`);

    const settings: FleetviewSettings = {
      intervalS: options.intervalS,
      measureS: options.measureS,
      tickS: options.tickS,
      discoveryIntervalS: options.discoveryIntervalS,
      onboardingTimeoutS: options.onboardingTimeoutS ?? Math.max(120, Math.ceil(clusters / 5)),
      faults,
      historySample: options.historySample,
      workerCpuProfDir: profileDir,
      workers: options.workers,
      temporal: options.temporal,
      windowAfterOnboarding: options.windowAfterOnboarding,
    };
    if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
    try {
      // Read when the window starts: a service restarted before has new groups by then.
      fleetview = await runFleetview({ cleanup, root, logDir: sizeLogDir, sim, names, settings, serviceEnv, serviceGroups: () => serviceGroups(options.temporal), log });
      if (fleetview.window_start.note) notes.push(fleetview.window_start.note);
      notes.push(...fleetview.service_changes);
    } catch (err) {
      errors.push(`fleetview: ${errorText(err)}`);
      log(`fleetview phase failed: ${errorText(err)}`);
    }
    // The workers have stopped by now: their profiles are written, or will never be.
    if (profileDir !== null) {
      const dirs = workerProfileDirs(profileDir, options.workers);
      workerProfiles = { dir: profileDir, files: dirs.flatMap(cpuProfiles) };
      log(workerProfiles.files.length > 0 ? `worker CPU profiles: ${workerProfiles.files.join(', ')}` : `no worker CPU profile in ${profileDir}`);
      for (const dir of dirs) {
        if (cpuProfiles(dir).length === 0) notes.push(`no worker CPU profile was written in ${dir}: the worker did not start, or did not exit by itself within its stop grace after SIGTERM and was killed`);
      }
    }

    if (options.anchors) ({ prometheus, poller } = await runAnchors(options, cleanup, sizeLogDir, sim, faults, errors));
    else notes.push('anchors not run (--no-anchors): no Prometheus or bare-poller figures, no ratios');
  } catch (err) {
    errors.push(errorText(err));
  } finally {
    await cleanup.undoTo(mark);
  }
  const status: SizeResult['status'] = errors.length > 0 || fleetview === null ? 'failed' : fleetview.stalled ? 'not_keeping_up' : 'ok';
  return {
    clusters,
    nodes_per_cluster: options.nodes,
    nodes: totalNodes,
    interval_s: options.intervalS,
    worker_processes: options.workers,
    temporal: { profile: options.temporal, database_at_start: temporalDatabaseAtStart },
    repeat,
    names,
    status,
    fleetview,
    prometheus,
    poller,
    errors,
    notes,
    ratios: ratios(fleetview, prometheus, poller),
    cleanup_problems: cleanup.problems.slice(problemsBefore),
    worker_cpu_profiles: workerProfiles,
    duration_s: Math.round((Date.now() - startedMs) / 1000),
  };
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:fleet: ${errorText(err)}\n${usage}\n`);
    process.exit(2);
  }
  const cleanup = new Cleanup(log);
  cleanup.installSignalHandlers();
  const runId = randomBytes(3).toString('hex');
  const logDir = mkdtempSync(join(tmpdir(), `fleetview-bench-${runId}-`));
  const startedAt = new Date();
  const machineAtStart = machine();
  log(describeMachine(machineAtStart));
  // The worker, the CLI and the benchmark's own clients all reach the profile's services through these.
  const serviceEnv = profileEnv(root, options.temporal);
  const config = loadConfig({ ...process.env, ...serviceEnv });

  const startedServices = await ensureServices(config, root, log, options.temporal);
  cleanup.add(`stopping the services this run started (${startedServices.join(', ') || 'none'})`, () => stopServices(root, startedServices, options.temporal));
  const temporal = temporalTarget(options.temporal, config);
  log(`Temporal: ${options.temporal} at ${temporal.address} (${databaseText(options.temporal, temporal.database_at_start)}); processes counted: ${Object.entries(temporal.processes).map(([service, procs]) => `${service} ${procs.join(' ') || '-'}`).join(', ')}`);

  const sizes: SizeRuns[] = [];
  try {
    for (const clusters of options.clusters) {
      const runs: SizeResult[] = [];
      for (let run = 1; run <= options.repeat; run++) {
        const result = await runSize(options, clusters, { run, of: options.repeat }, cleanup, logDir, runId, serviceEnv);
        runs.push(result);
        process.stdout.write(`\n${sizeTable(result)}\n`);
      }
      const size = sizeRuns(runs);
      sizes.push(size);
      // One run needs no summary of itself: the output stays as it was without --repeat.
      if (options.repeat > 1) process.stdout.write(`\n${summaryTable(size)}\n`);
    }
    const results = {
      benchmark: 'fleet',
      date: startedAt.toISOString(),
      command: `npm run bench:fleet -- ${process.argv.slice(2).join(' ')}`.trim(),
      parameters: { ...options, out: undefined },
      method: {
        phases: options.anchors
          ? 'sequential per size, on one sim: fleetview (onboarding, and beside it the steady-state window, then detection), then Prometheus (targets up, window, detection), then the bare poller (warm-up interval, window)'
          : 'per size, on one sim: fleetview only (onboarding, and beside it the steady-state window, then detection); the Prometheus and bare-poller anchors were not run (--no-anchors), so every ratio is null',
        repeat: 'each size run --repeat times in a row, each run with its own names, sim, worker and cleanup (sizes[i].runs); sizes[i].summary: per figure the median over the runs and the worst run (lowest done ÷ due, highest of the rest; an incomplete onboarding is the worst)',
        window_start_rule: windowStartRule,
        onboarding: 'from `fleetview discovery apply` returning until every node\'s AGENT_NEW is on the topic (Kafka timestamp) and fleetview_refreshes >= clusters (views saved)',
        refreshes: 'fleetview_refreshes, fleetview_refresh_lag and fleetview_refresh_duration from the worker\'s metrics endpoint, differences over the window; due = clusters × window ÷ interval; quantiles interpolated within histogram buckets',
        detection: 'sim admin change (at_ms) → NODE_DOWN / AGENT_DOWN Kafka timestamp; Prometheus: → the alert\'s activeAt (the rule evaluation that fired it) in /api/v1/alerts; faults spread evenly over one interval; missed = not reported within 3 intervals + 10 s of the last fault',
        cpu: 'utime+stime of every process of each group from /proc over the window; worker = the node --import tsx src/worker.ts process group (with --worker-cpu-prof: run with --cpu-prof too), summed over the --workers processes (fleetview.workers: each alone, its CPU per its own node-refreshes); per node-refresh = refreshes done × nodes per cluster; scrapes and node polls counted by the sim; temporal = every Temporal process (cluster profile: frontend, each history, matching, worker service; not the Web UI), postgres = the cluster profile\'s PostgreSQL, the process tree under its postmaster (each backend is a process group of its own), with the backends that exited inside the window (the postmaster\'s cutime + cstime), memory as PSS summed (null on the dev server), kafka = every broker; fleetview_total = worker + temporal + postgres + kafka + store',
        memory: 'RSS of each group at the window\'s end (costs.*.rss_mb; postgres: PSS); fleetview.workers[].rss_peak_mb: the largest RSS of each worker\'s own process read every second from its start to the end of detection, rss_window_median_mb: the median of those readings over the window, rss_every_10s_mb: every tenth second of them; fleetview.worker_rss_peak_mb, worker_rss_window_median_mb: those summed',
        temporal: 'temporal.profile: dev (scripts/services.sh, the Temporal dev server on SQLite) or cluster (scripts/services.sh --profile cluster, with the FLEETVIEW_* settings its env prints); database_at_start: dev the SQLite file\'s size (and its WAL), cluster pg_database_size of temporal and temporal_visibility through psql (else the data folder on disk), at the start of the benchmark and of each run (sizes[i].runs[j].temporal)',
        history: 'whole timer cycles of sampled cluster workflows (current run, up to the end of the window) ÷ cycles',
        store: 'server counters (serverStatus.opcounters or FerretDB\'s serverStatus.metrics.commands), server-wide, over the window',
      },
      machine: machineAtStart,
      temporal,
      versions: await versions(config, root, options.temporal),
      git: gitCommit(root),
      services_started_by_the_benchmark: startedServices,
      process_groups_started: startedGroups,
      sizes,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${options.out}`);
  } finally {
    await cleanup.undoAll();
  }
  const failed = sizes.some((size) => size.runs.some((run) => run.status === 'failed')) || cleanup.problems.length > 0;
  if (failed) log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  // Kafka and Temporal clients may hold timers for a while after closing: the run is over once stdout is flushed.
  process.stdout.write('', () => process.exit(failed ? 1 : 0));
}

await main();
