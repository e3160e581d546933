/**
 * The whole-fleet benchmark: fleetview as operators run it (the real Temporal, Kafka and store,
 * one worker process, discovery through the CLI) on simulated fleets of growing size, next to
 * two anchors on the same sim fleet: Prometheus scraping every node with one alerting rule, and
 * a bare HTTP poller doing the agent calls of a refresh and nothing else.
 *
 *   npm run bench:fleet -- --clusters 100,300,1000 --nodes 3 --interval 15 --measure 120
 *
 * Per size, one after the other on the same sim: fleetview (onboarding, a steady-state window,
 * then detection), Prometheus (targets up, a window, detection), the bare poller (a window).
 * Sequential, so each window's CPU is its own. Every phase is bounded in time; a size that does
 * not keep up is measured and reported as such. Everything started is stopped and everything
 * stored is deleted, also on failure and on SIGINT/SIGTERM. Results: a table on stdout and
 * bench/results/fleet.json (--out elsewhere).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { Cleanup } from './fleet/cleanup.js';
import { runFleetview, type FleetviewResult, type FleetviewSettings } from './fleet/fleetview-run.js';
import { runPollerAnchor, type PollerResult } from './fleet/poller-anchor.js';
import { startedGroups } from './fleet/processes.js';
import { runPrometheusAnchor, type PrometheusResult } from './fleet/prometheus-anchor.js';
import { ratios, sizeTable, type SizeResult } from './fleet/report.js';
import { ensureServices, ensureTool, gitCommit, machine, servicePgids, stopServices, versions } from './fleet/services.js';
import { startSimProcess } from './fleet/sim-process.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const usage = `usage: npm run bench:fleet -- [options]

  --clusters LIST            cluster counts, one run each (default 100; e.g. 100,300,1000)
  --nodes N                  nodes per cluster (default 3)
  --interval S               refresh, scrape and poll interval in seconds (default 15)
  --measure S                each measuring window in seconds (default 120)
  --tick S                   discovery schedule tick in seconds (default 5)
  --discovery-interval S     interval of the benchmark's discovery (default 60)
  --faults K                 datastores (and agents) set down for detection (default 10)
  --history-sample N         cluster workflows whose histories are counted (default 5)
  --onboarding-timeout S     default max(120, clusters / 5)
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
      out: { type: 'string', default: join(root, 'bench', 'results', 'fleet.json') },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const positive = (name: string, raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return value;
  };
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
    out: resolve(values.out),
  };
}

const log = (line: string): void => void process.stderr.write(`[bench:fleet] ${line}\n`);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n').slice(0, 6).join(' | ') : String(err);
}

async function runSize(options: Options, clusters: number, cleanup: Cleanup, logDir: string, runId: string): Promise<SizeResult> {
  const startedMs = Date.now();
  const tag = `bench-${runId}-${clusters}`;
  const names = {
    taskQueue: tag,
    database: tag.replace(/-/g, '_'),
    topic: `${tag}.events`,
    scheduleId: `${tag}-discovery`,
    discovery: tag,
    consumerGroup: `${tag}-reader`,
    sim_id_prefix: `${tag}-`,
  };
  const totalNodes = clusters * options.nodes;
  // At most a quarter of the nodes per kind of fault, so datastore and agent faults never share a node.
  const faults = Math.max(1, Math.min(options.faults, Math.floor(totalNodes / 4)));
  const errors: string[] = [];
  let fleetview: FleetviewResult | null = null;
  let prometheus: PrometheusResult | null = null;
  let poller: PollerResult | null = null;
  const problemsBefore = cleanup.problems.length;
  const mark = cleanup.mark();
  log(`== ${clusters} clusters × ${options.nodes} nodes, interval ${options.intervalS} s, names ${tag}`);
  try {
    const sizeLogDir = join(logDir, String(clusters));
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
    };
    try {
      fleetview = await runFleetview({ cleanup, root, logDir: sizeLogDir, sim, names, settings, servicePgids: servicePgids(), log });
    } catch (err) {
      errors.push(`fleetview: ${errorText(err)}`);
      log(`fleetview phase failed: ${errorText(err)}`);
    }

    if (ensureTool(root, 'prometheus')) {
      log(`prometheus: scraping ${sim.nodes.length} targets through ${sim.url}/http_sd every ${options.intervalS} s`);
      try {
        prometheus = await runPrometheusAnchor(cleanup, root, sizeLogDir, sim, options.intervalS, options.measureS, faults);
      } catch (err) {
        errors.push(`prometheus: ${errorText(err)}`);
      }
    } else {
      errors.push('prometheus: not installed and scripts/services.sh tools could not install it');
    }

    log('bare poller');
    try {
      poller = await runPollerAnchor(cleanup, root, sizeLogDir, sim, options.intervalS, options.measureS);
    } catch (err) {
      errors.push(`poller: ${errorText(err)}`);
    }
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
    names,
    status,
    fleetview,
    prometheus,
    poller,
    errors,
    ratios: ratios(fleetview, prometheus, poller),
    cleanup_problems: cleanup.problems.slice(problemsBefore),
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
  const config = loadConfig();

  const startedServices = await ensureServices(config, root, log);
  cleanup.add(`stopping the services this run started (${startedServices.join(', ') || 'none'})`, () => stopServices(root, startedServices));

  const sizes: SizeResult[] = [];
  try {
    for (const clusters of options.clusters) {
      const size = await runSize(options, clusters, cleanup, logDir, runId);
      sizes.push(size);
      process.stdout.write(`\n${sizeTable(size)}\n`);
    }
    const results = {
      benchmark: 'fleet',
      date: startedAt.toISOString(),
      command: `npm run bench:fleet -- ${process.argv.slice(2).join(' ')}`.trim(),
      parameters: { ...options, out: undefined },
      method: {
        phases: 'sequential per size, on one sim: fleetview (onboarding, steady-state window, then detection), then Prometheus (targets up, window, detection), then the bare poller (warm-up interval, window)',
        onboarding: 'from `fleetview discovery apply` returning until every node\'s AGENT_NEW is on the topic (Kafka timestamp) and fleetview_refreshes >= clusters (views saved)',
        refreshes: 'fleetview_refreshes, fleetview_refresh_lag and fleetview_refresh_duration from the worker\'s metrics endpoint, differences over the window; due = clusters × window ÷ interval; quantiles interpolated within histogram buckets',
        detection: 'sim admin change (at_ms) → NODE_DOWN / AGENT_DOWN Kafka timestamp; Prometheus: → the alert\'s activeAt (the rule evaluation that fired it) in /api/v1/alerts; faults spread evenly over one interval; missed = not reported within 3 intervals + 10 s of the last fault',
        cpu: 'utime+stime of every process of each group from /proc over the window; worker = the npx/tsx/node group; per node-refresh = refreshes done × nodes per cluster; scrapes and node polls counted by the sim',
        history: 'whole timer cycles of sampled cluster workflows (current run, up to the end of the window) ÷ cycles',
        store: 'server counters (serverStatus.opcounters or FerretDB\'s serverStatus.metrics.commands), server-wide, over the window',
      },
      machine: machineAtStart,
      versions: await versions(config, root),
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
  const failed = sizes.some((size) => size.status === 'failed') || cleanup.problems.length > 0;
  if (failed) log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  // Kafka and Temporal clients may hold timers for a while after closing: the run is over once stdout is flushed.
  process.stdout.write('', () => process.exit(failed ? 1 : 0));
}

await main();
