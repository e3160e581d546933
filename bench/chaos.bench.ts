/**
 * The chaos run: fleetview on its own services and a simulated fleet, with a script of changes
 * playing on the sim throughout (agents and datastores down and up, failovers, nodes joining and
 * leaving) while faults are injected one after another, recovery in between: the worker
 * SIGKILLed and started again; two workers, one SIGKILLed; the Temporal dev server SIGKILLed and
 * restarted on its SQLite file; Kafka stopped; the store frozen (SIGSTOP); the store SIGKILLed
 * and restarted; agent faults on 10% of the nodes (hang past the timeout, connection reset,
 * HTTP 500, a body that is not JSON, 10 MiB); the discovery endpoint failing for three runs.
 * The oracle compares the sim's changes with every event on the topic: lost, invented,
 * duplicates by id, reused ids, out of order, clusters retired; and measures per fault the time
 * until every cluster refreshed again.
 *
 * With --temporal cluster the run uses the cluster profile of scripts/services.sh instead (a
 * self-hosted Temporal with two history processes on PostgreSQL, three Kafka brokers, its
 * store), shared and left running, under names of the run's own; its faults there: the worker
 * ones, one history process SIGKILLed and one Kafka broker SIGKILLed (each started again after
 * a while), the agent faults and the failing discovery endpoint.
 *
 *   npm run chaos -- --clusters 100 --nodes 3 --interval 5
 *   npm run chaos -- --temporal cluster --clusters 40 --nodes 3 --interval 5
 *
 * Results: a table on stdout, bench/results/chaos.json (chaos-cluster.json with --temporal
 * cluster; --out elsewhere). Exit 0 when the oracle
 * found nothing (0 lost, invented, reused ids, out of order, retired; no stuck cluster), 1
 * otherwise, 2 for a bad command line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { faultNames, faultsOf, type FaultName, type ServicesMode } from './chaos/faults.js';
import { chaosTable } from './chaos/report.js';
import { runChaos, writeResults, type ChaosOptions } from './chaos/run.js';
import { Cleanup } from './fleet/cleanup.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const usage = `usage: npm run chaos -- [options]

  --temporal own|cluster     own: a Temporal dev server, Kafka and store of the run's own on free
                             ports (default); cluster: the cluster profile of scripts/services.sh
                             (started if down, left running; names of the run's own)
  --clusters N               clusters (default 100)
  --nodes N                  nodes per cluster (default 3)
  --interval S               refresh interval in seconds (default 5)
  --faults LIST              faults, in order (default all of the mode: ${faultsOf.own.join(',')};
                             with --temporal cluster: ${faultsOf.cluster.join(',')})
  --tick S                   discovery schedule tick (default 2)
  --discovery-interval S     the sim discovery's interval (default 10)
  --agent-timeout-ms MS      agent call budget (default 2000)
  --baseline S               quiet script before the first fault (default 3 intervals)
  --settle S                 after each fault's recovery (default 2 intervals)
  --worker-down S            no worker for this long after the SIGKILL (default 5)
  --temporal-down S          Temporal down for this long before its restart (default 10)
  --kafka-outage S           Kafka stopped for this long (default 60)
  --store-freeze S           store frozen for this long (default 60)
  --history-down S           cluster: the killed history process is started again after this long (default 30)
  --history N                cluster: kill temporal-history-N (default 1)
  --broker-down S            cluster: the killed Kafka broker is started again after this long (default 30)
  --broker N                 cluster: kill kafka-N (default: the broker leading most of the topic's partitions)
  --recovery-goal S          cluster: every cluster refreshed within this long of a history or broker kill,
                             and of its restart; else the run is not OK (default 30)
  --agent-fault-share F      share of the nodes given an agent fault (default 0.1; at least one per mode)
  --agent-fault-hold S       agent faults held this long once reported (default 3 intervals)
  --discovery-fail-runs N    discovery runs that fail (default 3)
  --seed N                   the script's choices (default 1)
  --out FILE                 results JSON (default bench/results/chaos.json; with --temporal cluster chaos-cluster.json)
  --keep-logs                keep the log folder (workers, sim, changes, topic) also when the run is OK`;

function parseOptions(argv: string[]): ChaosOptions & { out: string; keepLogs: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      temporal: { type: 'string', default: 'own' },
      clusters: { type: 'string', default: '100' },
      nodes: { type: 'string', default: '3' },
      interval: { type: 'string', default: '5' },
      faults: { type: 'string' },
      tick: { type: 'string', default: '2' },
      'discovery-interval': { type: 'string', default: '10' },
      'agent-timeout-ms': { type: 'string', default: '2000' },
      baseline: { type: 'string' },
      settle: { type: 'string' },
      'worker-down': { type: 'string', default: '5' },
      'temporal-down': { type: 'string', default: '10' },
      'kafka-outage': { type: 'string', default: '60' },
      'store-freeze': { type: 'string', default: '60' },
      'history-down': { type: 'string', default: '30' },
      history: { type: 'string' },
      'broker-down': { type: 'string', default: '30' },
      broker: { type: 'string' },
      'recovery-goal': { type: 'string', default: '30' },
      'agent-fault-share': { type: 'string', default: '0.1' },
      'agent-fault-hold': { type: 'string' },
      'discovery-fail-runs': { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      'keep-logs': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const number = (name: string, raw: string, min: number, integer = true): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(raw)}`);
    return value;
  };
  if (values.temporal !== 'own' && values.temporal !== 'cluster') throw new Error(`--temporal must be own or cluster, got ${JSON.stringify(values.temporal)}`);
  const mode: ServicesMode = values.temporal;
  const faults = (values.faults ?? faultsOf[mode].join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of faults) {
    if (!(faultNames as readonly string[]).includes(name)) throw new Error(`unknown fault ${JSON.stringify(name)}: expected some of ${faultNames.join(', ')}`);
    if (!faultsOf[mode].includes(name as FaultName)) throw new Error(`fault ${name} does not fit --temporal ${mode}: expected some of ${faultsOf[mode].join(', ')}`);
  }
  const intervalS = number('interval', values.interval, 1);
  const share = number('agent-fault-share', values['agent-fault-share'], 0, false);
  if (share > 1) throw new Error('--agent-fault-share must be at most 1');
  return {
    temporal: mode,
    recoveryGoalS: number('recovery-goal', values['recovery-goal'], 1, false),
    clusters: number('clusters', values.clusters, 1),
    nodes: number('nodes', values.nodes, 3),
    intervalS,
    faults: faults as FaultName[],
    tickS: number('tick', values.tick, 1),
    discoveryIntervalS: number('discovery-interval', values['discovery-interval'], 1),
    agentTimeoutMs: number('agent-timeout-ms', values['agent-timeout-ms'], 100),
    baselineS: number('baseline', values.baseline ?? String(3 * intervalS), 0),
    settleS: number('settle', values.settle ?? String(2 * intervalS), 0),
    workerDownS: number('worker-down', values['worker-down'], 0),
    temporalDownS: number('temporal-down', values['temporal-down'], 0),
    kafkaOutageS: number('kafka-outage', values['kafka-outage'], 1),
    storeFreezeS: number('store-freeze', values['store-freeze'], 1),
    historyDownS: number('history-down', values['history-down'], 0),
    historyNode: values.history === undefined ? null : number('history', values.history, 1),
    brokerDownS: number('broker-down', values['broker-down'], 0),
    brokerNode: values.broker === undefined ? null : number('broker', values.broker, 1),
    agentFaultShare: share,
    agentFaultHoldS: number('agent-fault-hold', values['agent-fault-hold'] ?? String(3 * intervalS), 0),
    discoveryFailRuns: number('discovery-fail-runs', values['discovery-fail-runs'], 1),
    seed: number('seed', values.seed, 0),
    out: resolve(values.out ?? join(root, 'bench', 'results', mode === 'cluster' ? 'chaos-cluster.json' : 'chaos.json')),
    keepLogs: values['keep-logs'] === true,
  };
}

const log = (line: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
  const { out, keepLogs, ...settings } = options;
  const cleanup = new Cleanup(log);
  cleanup.installSignalHandlers();
  const logDir = mkdtempSync(join(tmpdir(), 'fleetview-chaos-'));
  log(`logs in ${logDir}`);
  let ok = false;
  try {
    const results = await runChaos(root, settings, cleanup, logDir, log, `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim());
    await cleanup.undoAll();
    results.errors.push(...cleanup.problems.map((problem) => `cleanup: ${problem}`));
    ok = results.ok && cleanup.problems.length === 0;
    results.ok = ok;
    writeResults(out, results);
    process.stdout.write(`\n${chaosTable(results)}\n`);
    log(`results written to ${out}`);
  } catch (err) {
    log(`the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await cleanup.undoAll();
  }
  if (ok && !keepLogs) rmSync(logDir, { recursive: true, force: true });
  else log(`logs kept in ${logDir}`);
  process.stdout.write('', () => process.exit(ok ? 0 : 1));
}

await main();
