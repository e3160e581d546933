/**
 * `npm run demo`: fleetview end to end on this machine. Starts the services when they do not
 * answer (scripts/services.sh), a simulated fleet of three clusters (MongoDB, Kafka and
 * Zookeeper kinds), a worker, the fleet page, the discovery schedule and a discovery over the
 * sim's HTTP endpoint; then plays a scenario on the fleet and prints every event as it arrives
 * from Kafka.
 * Runs until Ctrl-C, then stops what it started (and only that).
 *
 *   npm run demo -- --once    play the scenario, check that every expected event arrived,
 *                             print a summary, stop everything; exit 0, or 1 naming what is missing
 *
 * Names come from the configuration (FLEETVIEW_* variables), so the CLI in another terminal sees
 * the demo's clusters; the demo's own defaults: a 2 s discovery tick and refresh interval, the
 * schedule `fleetview-demo`, and cluster ids and a discovery name unique to this run.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/adapters/logger.js';
import { formatEvent } from '../src/cli/event-format.js';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import type { EventCode, FleetEvent } from '../src/domain/event-catalogue.js';
import {
  applyDiscovery,
  checkServices,
  deleteDiscovery,
  ensureDiscoverySchedule,
  ensureEventsTopic,
  ensureIndexes,
  forgetClusters,
  openClients,
  readEvents,
  removeDiscoverySchedule,
  startConfiguredCodecServer,
  startConfiguredFleetPage,
} from '../src/operations/index.js';
import { startSim, type SimHandle } from '../src/sim/index.js';
import { createFleetviewWorker, type RunningWorker } from '../src/worker.js';

const servicesScript = fileURLToPath(new URL('./services.sh', import.meta.url));
/** checkServices' names and scripts/services.sh's. */
const serviceScriptNames = { temporal: 'temporal', kafka: 'kafka', mongodb: 'store' } as const;

interface Expectation {
  cluster: string;
  event: EventCode;
  /** The node it is about (agent address), when the event is node-scoped. */
  address?: string;
  /** A further condition, e.g. the new cluster status. */
  where?: (event: FleetEvent) => boolean;
  label: string;
}

interface Step {
  title: string;
  act: () => Promise<void>;
  expect: Expectation[];
}

interface StepResult {
  title: string;
  seconds: number;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

function parseOptions(): { once: boolean; stepTimeoutS: number } {
  const usage = 'usage: npm run demo [-- --once] [--step-timeout SECONDS]';
  let values;
  try {
    ({ values } = parseArgs({ options: { once: { type: 'boolean' }, 'step-timeout': { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    log(usage);
    process.exit(0);
  }
  const stepTimeoutS = Number(values['step-timeout'] ?? 60);
  if (!Number.isFinite(stepTimeoutS) || stepTimeoutS <= 0) {
    process.stderr.write(`demo: --step-timeout must be a positive number of seconds\n${usage}\n`);
    process.exit(2);
  }
  return { once: values.once === true, stepTimeoutS };
}

function demoConfig(): Config {
  try {
    // The environment wins over the demo's defaults, which make the demo quick to watch.
    return loadConfig({
      FLEETVIEW_DISCOVERY_TICK_S: '2',
      FLEETVIEW_REFRESH_INTERVAL_S: '2',
      FLEETVIEW_DISCOVERY_SCHEDULE_ID: 'fleetview-demo',
      FLEETVIEW_METRICS_PORT: '0',
      FLEETVIEW_LOG_LEVEL: 'error',
      ...process.env,
    });
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

/** Starts the services that do not answer; returns their services.sh names (to stop at the end). */
async function ensureServices(config: Config): Promise<string[]> {
  const health = await checkServices(config, 2000);
  const down = health.filter((h) => !h.ok);
  for (const h of health) log(`${h.ok ? 'up  ' : 'down'}  ${h.service.padEnd(8)} ${h.address}${h.ok ? `  ${h.detail}` : ''}`);
  if (down.length === 0) return [];
  const names = down.map((h) => serviceScriptNames[h.service]);
  log(`== starting ${names.join(', ')} with scripts/services.sh (the first time installs them: a few minutes)`);
  const result = spawnSync('bash', [servicesScript, 'start', ...names], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: scripts/services.sh start ${names.join(' ')} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
  return names;
}

class EventLog {
  readonly events: FleetEvent[] = [];
  private readonly ids = new Set<string>();

  constructor(private readonly ours: (clusterId: string) => boolean) {}

  add(event: FleetEvent): void {
    if (event.cluster_id === null || !this.ours(event.cluster_id) || this.ids.has(event.id)) return;
    this.ids.add(event.id);
    this.events.push(event);
    log(`  ${formatEvent(event)}`);
  }
}

function matches(expectation: Expectation, event: FleetEvent): boolean {
  if (event.cluster_id !== expectation.cluster || event.event !== expectation.event) return false;
  if (expectation.address !== undefined && (event.payload as { address?: string }).address !== expectation.address) return false;
  return expectation.where === undefined || expectation.where(event);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const config = demoConfig();
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    log('\n== stopping (Ctrl-C again to quit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const runId = randomBytes(2).toString('hex');
  const idPrefix = `demo-${runId}-`;
  const discoveryName = `demo-${runId}`;
  const cleanups: Array<[string, () => Promise<void> | void]> = [];
  const started = Date.now();
  let exitCode = 0;

  try {
    log(`== fleetview demo ${runId}${options.once ? ' (--once)' : ''}`);
    const startedServices = await ensureServices(config);
    if (startedServices.length > 0) {
      cleanups.push([`stopping ${startedServices.join(', ')}`, () => void spawnSync('bash', [servicesScript, 'stop', ...startedServices], { stdio: 'inherit' })]);
    }

    const sim: SimHandle = await startSim({ clusters: 3, nodes: 3, idPrefix });
    cleanups.push(['stopping the sim', () => sim.close()]);
    const [mongoId, kafkaId, zkId] = sim.records().map((record) => record.cluster_id) as [string, string, string];
    const clusterIds = [mongoId, kafkaId, zkId];
    log(`== sim fleet at ${sim.url}: ${clusterIds.join(', ')} (3 nodes each)`);

    const clients = openClients(config);
    cleanups.push(["closing the demo's clients", () => clients.close()]);
    await clients.clusterStore();
    const temporal = await clients.temporal();
    // Runs after the worker and the schedule are stopped, so nothing starts the workflows again.
    cleanups.push(['removing the demo clusters', async () => {
      await deleteDiscovery(clients, discoveryName);
      await forgetClusters(clients, clusterIds, 'the demo stopped');
    }]);

    log('== starting a worker (bundling the workflows takes a few seconds)');
    const worker: RunningWorker = await createFleetviewWorker(config, createLogger(config.worker.logLevel, { service: 'demo-worker' }));
    const workerDone = worker.run();
    cleanups.push(['stopping the worker', async () => {
      // Ctrl-C may have begun the shutdown already (the Temporal runtime listens for it too).
      if (worker.worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone;
    }]);

    // The Web UI's codec endpoint (scripts/services.sh points the UI at it): payloads kept in the
    // store show as data. One already serving the port (fleetview codec-server) does the same job.
    try {
      const codec = await startConfiguredCodecServer(config, async () => (await clients.clusterStore()).db, createLogger(config.worker.logLevel, { service: 'demo-codec-server' }));
      cleanups.push(['stopping the codec server', () => codec.close()]);
      log(`== codec server for the Web UI at ${codec.url}`);
    } catch (err) {
      log(`== codec server not started: ${(err as Error).message}`);
    }

    // What `fleetview start` does: indexes, topic, schedule.
    await ensureIndexes(clients);
    await ensureEventsTopic(clients);
    await ensureDiscoverySchedule(temporal, config);
    cleanups.push([`deleting the schedule ${config.discovery.scheduleId}`, () => removeDiscoverySchedule(temporal, config.discovery.scheduleId, 'the demo stopped')]);

    // The fleet page (what `fleetview ui` serves), beside the Web UI. A port already taken (a
    // `fleetview ui` running) leaves it out: that one shows the same fleet.
    let fleetPage = '';
    try {
      const page = await startConfiguredFleetPage(clients, createLogger(config.worker.logLevel, { service: 'demo-fleet-page' }));
      cleanups.push(['stopping the fleet page', () => page.close()]);
      fleetPage = page.server.url;
    } catch (err) {
      log(`== fleet page not started: ${(err as Error).message}`);
    }

    const events = new EventLog((clusterId) => clusterId.startsWith(idPrefix));
    const reading = new AbortController();
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    const reader = readEvents({
      kafka: clients.kafka(),
      topic: config.kafka.topic,
      history: 0,
      follow: true,
      signal: reading.signal,
      onEvent: (event) => events.add(event),
      onCaughtUp: () => caughtUp(),
    });
    cleanups.push(['stopping the event reader', async () => {
      reading.abort();
      await reader.catch(() => undefined);
    }]);
    await Promise.race([ready, reader]);

    const ui = config.temporal.uiUrl;
    const ns = encodeURIComponent(config.temporal.namespace);
    log(`== Web UI: ${ui}/namespaces/${ns}/workflows  (schedule: ${ui}/namespaces/${ns}/schedules/${config.discovery.scheduleId})`);
    if (fleetPage) log(`== fleet page: ${fleetPage}/  (the clusters, their members and shards, the events live)`);
    log(`== events of topic ${config.kafka.topic}, as they arrive:`);

    const node = (clusterId: string, name: string) => ({ address: sim.nodeUrl(clusterId, name) });
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${sim.url}/admin/${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`sim admin ${method} /admin/${path}: ${response.status} ${await response.text()}`);
    };
    const setState = (clusterId: string, name: string, state: Record<string, string>) => admin('POST', `clusters/${clusterId}/nodes/${name}/state`, state);
    const status = (after: string) => (event: FleetEvent) => event.event === 'CLUSTER_STATUS_CHANGED' && event.payload.after === after;
    const expectStatus = (cluster: string, after: string): Expectation => ({ cluster, event: 'CLUSTER_STATUS_CHANGED', where: status(after), label: `${cluster} ${after}` });

    const steps: Step[] = [
      {
        title: `discovery ${discoveryName} lists the sim's clusters over HTTP`,
        act: async () => void (await applyDiscovery(clients, { name: discoveryName, backend: 'http', interval: config.discovery.tickS, options: { url: `${sim.url}/discovery` } }, 'the demo discovery')),
        expect: clusterIds.flatMap((cluster) => [
          { cluster, event: 'CLUSTER_NEW' as const, label: cluster },
          ...['n1', 'n2', 'n3'].map((name) => ({ cluster, event: 'NODE_NEW' as const, ...node(cluster, name), label: `${cluster} ${name}` })),
          expectStatus(cluster, 'HEALTHY'),
        ]),
      },
      {
        title: `the agent of ${kafkaId} n2 goes down`,
        act: () => setState(kafkaId, 'n2', { agent: 'down' }),
        expect: [{ cluster: kafkaId, event: 'AGENT_DOWN', ...node(kafkaId, 'n2'), label: 'n2' }, expectStatus(kafkaId, 'DEGRADED')],
      },
      {
        title: `... and comes back`,
        act: () => setState(kafkaId, 'n2', { agent: 'up' }),
        expect: [{ cluster: kafkaId, event: 'AGENT_UP', ...node(kafkaId, 'n2'), label: 'n2' }, expectStatus(kafkaId, 'HEALTHY')],
      },
      {
        title: `the datastore of ${zkId} n2 goes down (its agent still answers)`,
        act: () => setState(zkId, 'n2', { datastore: 'down' }),
        expect: [{ cluster: zkId, event: 'NODE_DOWN', ...node(zkId, 'n2'), label: 'n2' }, expectStatus(zkId, 'DEGRADED')],
      },
      {
        title: `... and comes back`,
        act: () => setState(zkId, 'n2', { datastore: 'up' }),
        expect: [{ cluster: zkId, event: 'NODE_UP', ...node(zkId, 'n2'), label: 'n2' }, expectStatus(zkId, 'HEALTHY')],
      },
      {
        title: `the primary of ${mongoId} fails over from n1 to n2`,
        act: () => admin('POST', `clusters/${mongoId}/failover`, { to: 'n2' }),
        expect: [
          { cluster: mongoId, event: 'SHARD_ALLOCATION_CHANGED', ...node(mongoId, 'n1'), label: 'n1 secondary' },
          { cluster: mongoId, event: 'SHARD_ALLOCATION_CHANGED', ...node(mongoId, 'n2'), label: 'n2 primary' },
          { cluster: mongoId, event: 'SHARD_PRIMARY_CHANGED', label: 'n1 -> n2' },
        ],
      },
      {
        title: `a node n4 joins ${mongoId} (discovery lists it)`,
        act: () => admin('POST', `clusters/${mongoId}/nodes`, { name: 'n4' }),
        expect: [
          { cluster: mongoId, event: 'CLUSTER_CHANGED', label: '+n4' },
          { cluster: mongoId, event: 'AGENT_NEW', address: `${sim.url}/c/${mongoId}/n/n4`, label: 'n4' },
          { cluster: mongoId, event: 'NODE_NEW', address: `${sim.url}/c/${mongoId}/n/n4`, label: 'n4' },
        ],
      },
      {
        title: `node n3 leaves ${zkId} (retired after the grace period, two discovery intervals)`,
        act: () => admin('DELETE', `clusters/${zkId}/nodes/n3`),
        expect: [
          { cluster: zkId, event: 'CLUSTER_CHANGED', label: '-n3' },
          { cluster: zkId, event: 'NODE_RETIRED', ...node(zkId, 'n3'), label: 'n3' },
        ],
      },
    ];
    if (options.once) {
      steps.push({
        title: `discovery ${discoveryName} is deleted: its clusters retire after the grace period`,
        act: async () => void (await deleteDiscovery(clients, discoveryName)),
        expect: clusterIds.map((cluster) => ({ cluster, event: 'CLUSTER_RETIRED' as const, label: cluster })),
      });
    }

    const results: StepResult[] = [];
    for (const [index, step] of steps.entries()) {
      if (stop.signal.aborted) break;
      log(`\n==> step ${index + 1}/${steps.length}: ${step.title}`);
      const from = events.events.length;
      const stepStarted = Date.now();
      await step.act();
      const deadline = stepStarted + options.stepTimeoutS * 1000;
      let missing = step.expect;
      while (!stop.signal.aborted) {
        const seen = events.events.slice(from);
        missing = step.expect.filter((expectation) => !seen.some((event) => matches(expectation, event)));
        if (missing.length === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (stop.signal.aborted) break;
      if (missing.length > 0) {
        throw new Error(
          `step ${index + 1} (${step.title}): no ${missing.map((m) => `${m.event} [${m.label}]`).join(', ')} within ${options.stepTimeoutS} s`,
        );
      }
      const seconds = (Date.now() - stepStarted) / 1000;
      results.push({ title: step.title, seconds });
      log(`    ok: ${step.expect.length} expected events in ${seconds.toFixed(1)} s`);
    }

    if (!stop.signal.aborted && results.length === steps.length) {
      const expected = steps.reduce((sum, step) => sum + step.expect.length, 0);
      const byType = new Map<string, number>();
      for (const event of events.events) byType.set(event.event, (byType.get(event.event) ?? 0) + 1);
      log(`\n== summary: ${steps.length} steps, all ${expected} expected events arrived; ${events.events.length} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const width = Math.max(...results.map((result) => result.title.length));
      for (const [index, result] of results.entries()) log(`  ${String(index + 1).padStart(2)}. ${result.title.padEnd(width)}  ${result.seconds.toFixed(1).padStart(5)} s`);
      log(`  events: ${[...byType.entries()].map(([type, count]) => `${type} ${count}`).join(', ')}`);
    }
    if (!options.once && !stop.signal.aborted) {
      log('\n== the scenario is over; the fleet keeps running and events keep printing here.');
      log('   in another terminal (same FLEETVIEW_* settings):');
      log(`     npm run cli -- clusters`);
      log(`     npm run cli -- view ${mongoId}`);
      log(`     npm run cli -- refresh ${kafkaId} --wait`);
      log(`     npm run cli -- events --cluster ${zkId} --from-beginning`);
      log(`     curl -X POST -H 'content-type: application/json' -d '{"agent":"down"}' ${sim.url}/admin/clusters/${mongoId}/nodes/n1/state`);
      log(`   Web UI: ${ui}/namespaces/${ns}/workflows`);
      if (fleetPage) log(`   fleet page: ${fleetPage}/`);
      log('   Ctrl-C stops everything the demo started.');
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    if (options.once && stop.signal.aborted) exitCode = 130;
  } catch (err) {
    process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    exitCode = 1;
  } finally {
    for (const [what, cleanup] of cleanups.reverse()) {
      log(`== ${what}`);
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`demo: ${what} failed: ${(err as Error).message}\n`);
      }
    }
  }
  process.stdout.write('', () => process.exit(exitCode));
}

await main();
