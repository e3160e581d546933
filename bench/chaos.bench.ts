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
 *   npm run chaos -- --clusters 100 --nodes 3 --interval 5
 *
 * Results: a table on stdout, bench/results/chaos.json (--out elsewhere). Exit 0 when the oracle
 * found nothing (0 lost, invented, reused ids, out of order, retired; no stuck cluster), 1
 * otherwise, 2 for a bad command line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { faultNames, type FaultName } from './chaos/faults.js';
import { chaosTable } from './chaos/report.js';
import { runChaos, writeResults, type ChaosOptions } from './chaos/run.js';
import { Cleanup } from './fleet/cleanup.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const usage = `usage: npm run chaos -- [options]

  --clusters N               clusters (default 100)
  --nodes N                  nodes per cluster (default 3)
  --interval S               refresh interval in seconds (default 5)
  --faults LIST              faults, in order (default all: ${faultNames.join(',')})
  --tick S                   discovery schedule tick (default 2)
  --discovery-interval S     the sim discovery's interval (default 10)
  --agent-timeout-ms MS      agent call budget (default 2000)
  --baseline S               quiet script before the first fault (default 3 intervals)
  --settle S                 after each fault's recovery (default 2 intervals)
  --worker-down S            no worker for this long after the SIGKILL (default 5)
  --temporal-down S          Temporal down for this long before its restart (default 10)
  --kafka-outage S           Kafka stopped for this long (default 60)
  --store-freeze S           store frozen for this long (default 60)
  --agent-fault-share F      share of the nodes given an agent fault (default 0.1; at least one per mode)
  --agent-fault-hold S       agent faults held this long once reported (default 3 intervals)
  --discovery-fail-runs N    discovery runs that fail (default 3)
  --seed N                   the script's choices (default 1)
  --out FILE                 results JSON (default bench/results/chaos.json)
  --keep-logs                keep the log folder (workers, sim, changes, topic) also when the run is OK`;

function parseOptions(argv: string[]): ChaosOptions & { out: string; keepLogs: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: 'string', default: '100' },
      nodes: { type: 'string', default: '3' },
      interval: { type: 'string', default: '5' },
      faults: { type: 'string', default: faultNames.join(',') },
      tick: { type: 'string', default: '2' },
      'discovery-interval': { type: 'string', default: '10' },
      'agent-timeout-ms': { type: 'string', default: '2000' },
      baseline: { type: 'string' },
      settle: { type: 'string' },
      'worker-down': { type: 'string', default: '5' },
      'temporal-down': { type: 'string', default: '10' },
      'kafka-outage': { type: 'string', default: '60' },
      'store-freeze': { type: 'string', default: '60' },
      'agent-fault-share': { type: 'string', default: '0.1' },
      'agent-fault-hold': { type: 'string' },
      'discovery-fail-runs': { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'chaos.json') },
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
  const faults = values.faults
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of faults) if (!(faultNames as readonly string[]).includes(name)) throw new Error(`unknown fault ${JSON.stringify(name)}: expected some of ${faultNames.join(', ')}`);
  const intervalS = number('interval', values.interval, 1);
  const share = number('agent-fault-share', values['agent-fault-share'], 0, false);
  if (share > 1) throw new Error('--agent-fault-share must be at most 1');
  return {
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
    agentFaultShare: share,
    agentFaultHoldS: number('agent-fault-hold', values['agent-fault-hold'] ?? String(3 * intervalS), 0),
    discoveryFailRuns: number('discovery-fail-runs', values['discovery-fail-runs'], 1),
    seed: number('seed', values.seed, 0),
    out: resolve(values.out),
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
