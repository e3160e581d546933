/**
 * The large-cluster benchmark (issue 17): one Kafka-like sim cluster per shape (nodes × shard
 * copies per node, three replicas per partition), fleetview as operators run it (the real
 * Temporal, Kafka and store, one worker process, discovery through the CLI), and the bare
 * poller on the same cluster; optionally a mixed fleet of many small and a few big clusters.
 *
 *   npm run bench:large -- --shape 100x10 --shape 500x20 --interval 60 --measure 300
 *
 * Shapes run one after the other, each on its own (sim, worker, names, cleanup; services shared,
 * started through scripts/services.sh when they do not answer, as bench:fleet does); see
 * bench/large/run-shape.ts for the phases and bench/large/mixed.ts for the mixed fleet. Every
 * wait is bounded and names what it waited for; a shape whose first refresh does not complete
 * is reported with what was and was not reached. Everything started is stopped and everything
 * stored is deleted, also on failure and on SIGINT/SIGTERM. Results: tables on stdout and
 * bench/results/large.json (--out elsewhere).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { Cleanup } from './fleet/cleanup.js';
import { exitWithUsageIf, positiveInteger } from './fleet/options.js';
import { startedGroups } from './fleet/processes.js';
import { describeMachine, ensureServices, gitCommit, machine, servicePgids, stopServices, versions } from './fleet/services.js';
import { quietRefreshMethod } from './large/history-cost.js';
import { runMixed, type MixedResult } from './large/mixed.js';
import { mixedTable, overviewTable, shapeGoals, shapeTable } from './large/report.js';
import { blobPattern, runShape, windowIntervals, type RunContext, type ShapeResult } from './large/run-shape.js';
import { defaultShapes, parseShape, shapeLabel, type Shape } from './large/shape.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const usage = `usage: npm run bench:large -- [options]

  --shape NODESxSHARDS       a shape: one Kafka-like cluster of NODES brokers holding SHARDS shard
                             copies each (partitions = NODES × SHARDS ÷ 3, three replicas each);
                             repeatable (default ${defaultShapes.join(', ')})
  --interval LIST            refresh and poll interval(s) in seconds, each shape at each
                             (default 60; e.g. 60,15)
  --measure S                the later-refreshes window and the poller's, rounded up to whole
                             intervals (default 300)
  --first-refresh-timeout S  from the discovery apply to the first refresh complete with every
                             event on the topic (default 180)
  --faults K                 brokers' datastores set down, and partitions' leaders moved, for
                             detection (default 3)
  --tick S                   discovery schedule tick in seconds (default 5)
  --discovery-interval S     interval of the benchmark's discoveries (default 60)
  --no-poller                no bare-poller phase (the CPU ratio is then null)
  --idle S                   before each shape's cluster exists, the worker's and the services'
                             CPU over S seconds: the idle floor the window's CPU is also given
                             above (default 30; 0: not measured)
  --mixed                    also (or, without --shape, only) the mixed fleet: many small clusters
                             beside a few big ones on one worker
  --mixed-interval S         the mixed fleet's interval (default 15)
  --mixed-small N            small clusters (default 1000, 3 nodes each)
  --mixed-big-clusters N     big clusters (default 5)
  --mixed-big SHAPE          each big cluster's shape (default 500x20)
  --mixed-history-sample N   small clusters whose histories give the start lag (default 20)
  --worker-cpu-prof DIR      each worker runs with node --cpu-prof and writes its profile under
                             DIR/<task queue> (read with npx tsx bench/profile-top.ts FILE)
  --out FILE                 results JSON (default bench/results/large.json)`;

interface Options {
  shapes: Shape[];
  intervals: number[];
  measureS: number;
  firstRefreshTimeoutS: number;
  faults: number;
  tickS: number;
  discoveryIntervalS: number;
  poller: boolean;
  idleS: number;
  mixed: boolean;
  mixedIntervalS: number;
  mixedSmall: number;
  mixedBigClusters: number;
  mixedBig: Shape;
  mixedHistorySample: number;
  workerCpuProfDir: string | null;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: 'string', multiple: true },
      interval: { type: 'string', default: '60' },
      measure: { type: 'string', default: '300' },
      'first-refresh-timeout': { type: 'string', default: '180' },
      faults: { type: 'string', default: '3' },
      tick: { type: 'string', default: '5' },
      'discovery-interval': { type: 'string', default: '60' },
      'no-poller': { type: 'boolean', default: false },
      idle: { type: 'string', default: '30' },
      mixed: { type: 'boolean', default: false },
      'mixed-interval': { type: 'string', default: '15' },
      'mixed-small': { type: 'string', default: '1000' },
      'mixed-big-clusters': { type: 'string', default: '5' },
      'mixed-big': { type: 'string', default: '500x20' },
      'mixed-history-sample': { type: 'string', default: '20' },
      'worker-cpu-prof': { type: 'string' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'large.json') },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  exitWithUsageIf(values.help, usage);
  const positive = positiveInteger;
  // Without --shape: the default set, unless --mixed alone asks for the mixed fleet only.
  const shapes = values.shape ?? (values.mixed ? [] : [...defaultShapes]);
  return {
    shapes: shapes.map(parseShape),
    intervals: values.interval.split(',').map((part) => positive('interval', part.trim())),
    measureS: positive('measure', values.measure),
    firstRefreshTimeoutS: positive('first-refresh-timeout', values['first-refresh-timeout']),
    faults: positive('faults', values.faults),
    tickS: positive('tick', values.tick),
    discoveryIntervalS: positive('discovery-interval', values['discovery-interval']),
    poller: !values['no-poller'],
    idleS: values.idle === '0' ? 0 : positive('idle', values.idle),
    mixed: values.mixed,
    mixedIntervalS: positive('mixed-interval', values['mixed-interval']),
    mixedSmall: positive('mixed-small', values['mixed-small']),
    mixedBigClusters: positive('mixed-big-clusters', values['mixed-big-clusters']),
    mixedBig: parseShape(values['mixed-big']),
    mixedHistorySample: positive('mixed-history-sample', values['mixed-history-sample']),
    workerCpuProfDir: values['worker-cpu-prof'] === undefined ? null : resolve(values['worker-cpu-prof']),
    out: resolve(values.out),
  };
}

const log = (line: string): void => void process.stderr.write(`[bench:large] ${line}\n`);

const method = {
  isolation:
    'shapes one after the other, each with its own sim, worker process (node --import tsx src/worker.ts), task queue, database, topic, schedule and discovery, all undone before the next; the services (Temporal, Kafka, store) are shared, started through scripts/services.sh only when they do not answer, as bench:fleet does',
  first_refresh:
    'from the cluster workflow\'s start (Temporal\'s start time) to fleetview_refreshes ≥ 1 (polled every 0.5 s) and to the moment the benchmark\'s consumer (polling every 200 ms) received the message that completed the refresh\'s events (not the Kafka timestamp: fleetview sets it to the event\'s timestamp, the refresh\'s start); expected events = 3 per node (AGENT_NEW, AGENT_INFO_NEW, NODE_NEW) + one SHARD_ALLOCATION_NEW per shard copy (the sim\'s count) + CLUSTER_STATUS_CHANGED; checked by id <cluster>/<generation>/<index> in topic order: none missing, none repeated, none out of order, none past the count; bounded by --first-refresh-timeout from the discovery apply, and on timeout: what was reached (workflow, events, counter, workflow task failures, pending activities, the worker\'s log)',
  later_refreshes:
    'a window of whole intervals (--measure rounded up) starting half an interval after the second refresh completed, so each refresh completes inside it once: done = fleetview_refreshes difference, due = intervals; lag from fleetview_refresh_lag and, from the history, each scheduled refresh\'s start (the WorkflowTaskStarted after its TimerFired) against its slot (the TimerFired: the workflow sets each timer to end on the next slot)',
  history: quietRefreshMethod,
  largest_payload: 'every Payload of every run of the cluster workflow (inputs, results, markers, memo, search attributes, headers, continue-as-new input), protobuf-encoded size; blob warnings: lines of the worker\'s log and of Temporal\'s log (since the shape started) matching ' + blobPattern.source,
  detection:
    '--faults brokers\' datastores set down (sim admin state) and as many partitions\' leaders moved (sim admin failover; partitions on none of the downed brokers), each set spread over one interval, at once; latency = the benchmark\'s consumer received NODE_DOWN (that broker) / SHARD_PRIMARY_CHANGED (that partition) minus the sim\'s at_ms; missed = not within 3 intervals + 10 s; every fault undone afterwards',
  cpu: 'utime+stime of every process of each group from /proc over the window; per node-refresh = refreshes done × nodes; the bare poller (bench/fleet/bare-poller.mjs) on the same sim after the worker stopped, one interval of warm-up, then a window of the same length; ratio = (worker + Temporal + Kafka + store) ÷ poller; idle floor: before the cluster exists, each group\'s cores over --idle seconds (the worker\'s discovery schedule ticking, no cluster); above the idle floor = window CPU − idle cores × window length, per node-refresh, its ratio to the poller\'s (whose process has no floor to speak of)',
  rss: 'the worker\'s largest process (no npx/tsx wrapper) every second from its start to the end of the fleetview phase: the peak and the last reading',
  view: 'the view query through workflowService.queryWorkflow: its payloads\' protobuf size and round trip; `fleetview view CLUSTER` as the CLI runs (tsx start included): stdout bytes and wall time',
  mixed: 'two sims (small, big), one worker, two discoveries; onboarding = every cluster\'s first refresh on the topic; window one interval after, whole intervals; per group done = the sim\'s node requests ÷ 3 ÷ nodes per cluster, due = clusters × intervals; start lag from the histories of --mixed-history-sample small clusters and every big one',
};

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:large: ${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
  const cleanup = new Cleanup(log);
  cleanup.installSignalHandlers();
  const runId = randomBytes(3).toString('hex');
  const logDir = mkdtempSync(join(tmpdir(), `fleetview-bench-large-${runId}-`));
  const startedAt = new Date();
  const machineAtStart = machine();
  log(describeMachine(machineAtStart));
  const config = loadConfig();
  log(`logs in ${logDir}`);

  const startedServices = await ensureServices(config, root, log);
  cleanup.add(`stopping the services this run started (${startedServices.join(', ') || 'none'})`, () => stopServices(root, startedServices));
  const context: RunContext = { cleanup, root, logDir, runId, servicePgids: servicePgids(), log, workerCpuProfDir: options.workerCpuProfDir };

  const shapes: ShapeResult[] = [];
  let mixed: MixedResult | null = null;
  try {
    for (const intervalS of options.intervals) {
      for (const shape of options.shapes) {
        const result = await runShape(context, shape, {
          intervalS,
          measureS: windowIntervals(options.measureS, intervalS) * intervalS,
          tickS: options.tickS,
          discoveryIntervalS: options.discoveryIntervalS,
          faults: options.faults,
          firstRefreshTimeoutS: options.firstRefreshTimeoutS,
          poller: options.poller,
          idleS: options.idleS,
        });
        shapes.push(result);
        process.stdout.write(`\n${shapeTable(result)}\n`);
      }
    }
    if (options.mixed) {
      mixed = await runMixed(context, {
        intervalS: options.mixedIntervalS,
        measureS: options.measureS,
        tickS: options.tickS,
        discoveryIntervalS: options.discoveryIntervalS,
        onboardingTimeoutS: Math.max(options.firstRefreshTimeoutS, Math.ceil(options.mixedSmall / 5)),
        smallClusters: options.mixedSmall,
        smallNodes: 3,
        bigClusters: options.mixedBigClusters,
        bigShape: options.mixedBig,
        historySample: options.mixedHistorySample,
      });
      process.stdout.write(`\n${mixedTable(mixed)}\n`);
    }
    if (shapes.length > 0) process.stdout.write(`\n#### bench:large overview\n\n${overviewTable(shapes)}\n`);
    const results = {
      benchmark: 'large',
      date: startedAt.toISOString(),
      command: `npm run bench:large -- ${process.argv.slice(2).join(' ')}`.trim(),
      parameters: { ...options, shapes: options.shapes.map(shapeLabel), mixedBig: shapeLabel(options.mixedBig), out: undefined },
      method,
      machine: machineAtStart,
      versions: await versions(config, root),
      git: gitCommit(root),
      services_started_by_the_benchmark: startedServices,
      process_groups_started: startedGroups,
      shapes: shapes.map((shape) => ({ ...shape, goals: shapeGoals(shape) })),
      mixed,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${options.out}`);
  } finally {
    await cleanup.undoAll();
  }
  const failed = shapes.some((shape) => shape.status === 'failed') || (mixed !== null && mixed.errors.length > 0) || cleanup.problems.length > 0;
  const incomplete = shapes.filter((shape) => shape.status === 'first_refresh_incomplete').map((shape) => `${shape.shape} at ${shape.interval_s} s`);
  if (incomplete.length > 0) log(`first refresh incomplete (measured, not a failure of the benchmark): ${incomplete.join(', ')}`);
  if (failed || incomplete.length > 0) log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  // Kafka and Temporal clients may hold timers for a while after closing: the run is over once stdout is flushed.
  process.stdout.write('', () => process.exit(failed ? 1 : 0));
}

await main();
