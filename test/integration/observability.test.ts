// The shipped Grafana dashboard and Prometheus rules against a real Prometheus scraping a real
// worker (`src/worker.ts` in its own process) that refreshes sim clusters and runs discovery. The
// scenario makes every fact the files watch happen: nodes down, a discovery's list shrinking (its
// retirements held), a discovery failing, the store frozen (writes fail), Kafka stopped (publishes
// retried). Then every dashboard query, with its variables filled in, must return series, and so
// must every metric selector in it and in every rule (a misspelt metric name selects nothing);
// the rules load healthy, and the alerts for the conditions produced fire while the healthy
// fleet's do not. Kafka and the store are the test's own (stopped and frozen); Temporal is shared.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { createDiscoveryStore, type DiscoveryStore } from '../../src/adapters/discovery-store/index.js';
import { within } from '../../src/adapters/deadline.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import { discoveryWorkflowType, type DiscoveryRunResult } from '../../src/workflows/discovery-messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { discoverySetting, runDiscovery, runFailingDiscovery } from '../helpers/discovery.js';
import { eventually } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { spawnWorkerProcess } from '../helpers/worker.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { alertRulesPath, dashboardQueries, fillVariables, loadDashboard, loadRules, metricSelectors, repoRoot } from '../helpers/observability.js';
import { uniqueName } from '../helpers/unique.js';

const job = 'fleetview';
/** The dashboard's variables as an operator picks them: the job, every worker. */
const dashboardValues = { job, instance: '.*' };
/** Alerts whose condition the scenario makes true, and those a fleet refreshing normally never fires. */
const alertsProduced = ['FleetviewEventsNotPublished', 'FleetviewStoreWritesFailing', 'FleetviewRetirementsHeld', 'FleetviewDiscoveryFailing'];
const alertsQuiet = ['FleetviewWorkerDown', 'FleetviewNoWorker', 'FleetviewRefreshesStopped'];

/** A Prometheus tool from Debian's `prometheus` package: found on PATH, else installed as the suite installs its tools. */
function prometheusTool(name: 'prometheus' | 'promtool'): string {
  const find = () => spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!find()) spawnSync('bash', [join(repoRoot, 'scripts', 'services.sh'), 'tools'], { stdio: 'inherit', timeout: 300_000 });
  const path = find();
  if (!path) throw new Error(`${name} is not installed: it comes with Debian's prometheus package (scripts/services.sh tools, or apt-get install prometheus)`);
  return path;
}

let dir: string;
let kafka: IsolatedService;
let store: IsolatedService;
let config: ReturnType<typeof testConfig>;
let worker: ChildProcess | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let prometheusUrl: string;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let clusterStore: ClusterStore;
let discoveries: DiscoveryStore;
let fleet: SimHandle;
let shrinking: SimHandle;
const discoveryRuns: WorkflowHandle[] = [];

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** One instant query through Prometheus' HTTP API, now. */
async function query(expr: string): Promise<QueryAnswer> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(15_000) });
  return (await response.json()) as QueryAnswer;
}

async function series(expr: string): Promise<number> {
  const answer = await query(expr);
  if (answer.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${answer.error}`);
  return answer.data!.result.length;
}

/** Waits until Prometheus holds a series for `expr` (the worker reported it and a scrape took it). */
async function untilScraped(expr: string, timeoutMs = 60_000): Promise<void> {
  await eventually(`Prometheus has a series for ${expr}`, async () => (await series(expr)) > 0, timeoutMs);
}

/** The condition of one of the shipped alerts. */
function alertCondition(name: string): string {
  const rule = loadRules().find((r) => r.name === name);
  if (!rule) throw new Error(`no rule ${name} in ${alertRulesPath}`);
  return rule.expr;
}

const simState = (sim: SimHandle, cluster: string, node: string, state: Record<string, string>) =>
  fetch(`${sim.url}/admin/clusters/${cluster}/nodes/${node}/state`, { method: 'POST', body: JSON.stringify(state), signal: AbortSignal.timeout(10_000) });

function startPrometheus(port: number, metricsPort: number): ChildProcess {
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(alertRulesPath)}`,
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    static_configs:',
      `      - targets: ["127.0.0.1:${metricsPort}"]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    prometheusTool('prometheus'),
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    prometheusLog = (prometheusLog + chunk.toString()).slice(-4000);
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
async function stopProcess(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await within(exited, graceMs, 'exit after SIGTERM').catch(() => {
    child.kill('SIGKILL');
    return exited;
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-observability-'));
  const kafkaPort = await freePort();
  kafka = isolatedService('kafka', { FLEETVIEW_KAFKA_PORT: String(kafkaPort), FLEETVIEW_KAFKA_CONTROLLER_PORT: String(await freePort()) });
  kafka.start();
  const storePort = await freePort();
  store = isolatedService('store', { FLEETVIEW_MONGODB_PORT: String(storePort) });
  store.start();
  const metricsPort = await freePort();
  config = testConfig({
    FLEETVIEW_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    FLEETVIEW_MONGODB_URI: `mongodb://127.0.0.1:${storePort}/`,
    // A frozen store fails a write within a second.
    FLEETVIEW_MONGODB_TIMEOUT_MS: '1000',
    FLEETVIEW_METRICS_PORT: String(metricsPort),
    FLEETVIEW_REFRESH_INTERVAL_S: '1',
  });

  fleet = await startSim({ clusters: 3, nodes: 3, idPrefix: `${uniqueName('obs')}-` });
  shrinking = await startSim({ clusters: 3, nodes: 1, idPrefix: `${uniqueName('obs-shrink')}-` });
  clusterStore = await createClusterStore(config.mongodb);
  discoveries = createDiscoveryStore(clusterStore.db);
  await discoveries.ensureIndexes();
  temporal = await connectClient(config);

  worker = spawnWorkerProcess(config, {
    FLEETVIEW_REFRESH_INTERVAL_S: String(config.refresh.intervalS),
    FLEETVIEW_MONGODB_TIMEOUT_MS: String(config.mongodb.timeoutMs),
  });
  const prometheusPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  prometheus = startPrometheus(prometheusPort, metricsPort);
  await eventually(
    'Prometheus scrapes the worker',
    async () => {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${prometheusLog}`);
      if (worker?.exitCode !== null) throw new Error('the worker exited');
      return (await series(`up{job="${job}"} == 1`)) > 0;
    },
    120_000,
  );
}, setupBound);

after(
  () =>
    cleanUp({
      'resuming the frozen store': () => store?.signal('SIGCONT'),
      'stopping Prometheus': () => stopProcess(prometheus, 10_000),
      'ending the discovery runs': () => Promise.all(discoveryRuns.map((handle) => terminateQuietly(handle))),
      'terminating the cluster workflows': async () => {
        for (const sim of [fleet, shrinking]) {
          for (const record of sim?.records() ?? []) await terminateQuietly(temporal.client.workflow.getHandle(`cluster/${record.cluster_id}`));
        }
      },
      'stopping the worker': () => stopProcess(worker, 20_000),
      'closing the Temporal client': () => temporal?.close(),
      'closing the store client': () => clusterStore?.close(),
      'stopping the sims': async () => {
        await fleet?.close();
        await shrinking?.close();
      },
      'stopping the isolated Kafka': () => kafka?.dispose(),
      'stopping the isolated store': () => store?.dispose(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

it('promtool accepts the rule file', () => {
  const result = spawnSync(prometheusTool('promtool'), ['check', 'rules', alertRulesPath], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `promtool check rules failed:\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

describe('against a real Prometheus scraping a real worker', () => {
  it('the scenario makes every watched fact happen', async () => {
    const shrinkingFile = join(dir, 'shrinking.json');
    writeFileSync(shrinkingFile, JSON.stringify(shrinking.records()));
    // Long intervals: runs are started here, each discovery made due first.
    const now = new Date();
    await discoveries.applySetting(discoverySetting({ name: 'fleet', backend: 'http', interval: 3600, options: { url: `${fleet.url}/discovery` } }), now);
    await discoveries.applySetting(discoverySetting({ name: 'shrinking', backend: 'file', interval: 3600, options: { path: shrinkingFile } }), now);
    const first = await runDiscovery(temporal.client, config);
    assert.deepEqual(first.discoveries.map((d) => [d.discovery, d.ok]).sort(), [['fleet', true], ['shrinking', true]]);

    // Nodes down: an agent that does not answer, a datastore that does not.
    const [one, two, three] = fleet.records().map((record) => record.cluster_id) as [string, string, string];
    await simState(fleet, one, 'n2', { agent: 'down' });
    await simState(fleet, two, 'n3', { datastore: 'down' });
    await untilScraped(`fleetview_node_fetch_failures{status="AGENT_DOWN"}`);
    await untilScraped(`fleetview_node_fetch_failures{status="NODE_DOWN"}`);
    await untilScraped(`fleetview_cluster_status_seconds{status="DEGRADED"}`);

    // The shrinking discovery's list empties: the guard holds its three retirements.
    writeFileSync(shrinkingFile, '[]');
    await discoveries.makeDue(['shrinking'], new Date());
    const held = await runDiscovery(temporal.client, config);
    assert.equal(held.discoveries.find((d) => d.discovery === 'shrinking')?.hold?.held, 3);
    await untilScraped(`fleetview_discovery_retirements_held{discovery="shrinking"} == 3`);

    // A discovery whose source does not answer fails twice: increase() cannot count a series' first sample.
    await discoveries.applySetting(discoverySetting({ name: 'broken', backend: 'http', interval: 3600, options: { url: `http://127.0.0.1:${await freePort()}/discovery` } }), new Date());
    for (let run = 0; run < 2; run++) {
      if (run > 0) await discoveries.makeDue(['broken'], new Date());
      const failed = await runFailingDiscovery(temporal.client, config);
      assert.equal(failed.result.discoveries.find((d) => d.discovery === 'broken')?.ok, false);
    }
    await untilScraped(alertCondition('FleetviewDiscoveryFailing'));
    await untilScraped(`temporal_workflow_failed{workflow_type="discovery"}`);

    // Kafka stopped while discovery has an event to publish (a node joined): the publish is retried.
    const joined = await fetch(`${fleet.url}/admin/clusters/${three}/nodes`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(joined.status, 201);
    await discoveries.makeDue(['fleet'], new Date());
    kafka.stop();
    let run: WorkflowHandle;
    try {
      run = await temporal.client.workflow.start(discoveryWorkflowType, { taskQueue: config.temporal.taskQueue, workflowId: uniqueName('discovery'), args: [] });
      discoveryRuns.push(run);
      await untilScraped(alertCondition('FleetviewEventsNotPublished'), 120_000);
    } finally {
      kafka.start();
    }
    const published = (await within(run.result(), 120_000, 'the discovery run after Kafka came back')) as DiscoveryRunResult;
    assert.equal(published.discoveries.find((d) => d.discovery === 'fleet')?.changed, 1);
    // The label the dashboard's Events panel splits by (the SDK names activity labels in camel case).
    await untilScraped(`fleetview_events_published{activityType="publishEvents"}`);

    // The store frozen while a node comes back: the refresh's view is not taken in time, nor at
    // the refreshes after it (each sends the view again), which is what the alert waits for.
    store.signal('SIGSTOP');
    try {
      await simState(fleet, one, 'n2', { agent: 'up' });
      await untilScraped(alertCondition('FleetviewStoreWritesFailing'));
    } finally {
      store.signal('SIGCONT');
    }
  });

  it('Prometheus loaded every rule, and each evaluates healthy', async () => {
    const names = loadRules().map((rule) => rule.name).sort();
    interface RuleState {
      name: string;
      health: string;
      lastError?: string;
      lastEvaluation: string;
    }
    const loaded = await eventually(
      'every rule evaluated',
      async () => {
        const response = await fetch(`${prometheusUrl}/api/v1/rules`, { signal: AbortSignal.timeout(15_000) });
        const body = (await response.json()) as { data: { groups: Array<{ file: string; rules: RuleState[] }> } };
        const rules = body.data.groups.filter((group) => group.file === alertRulesPath).flatMap((group) => group.rules);
        // Not yet evaluated: health "unknown" and a zero time.
        return rules.length === names.length && rules.every((rule) => !rule.lastEvaluation.startsWith('0001-')) ? rules : undefined;
      },
      30_000,
    );
    assert.deepEqual(loaded.map((rule) => rule.name).sort(), names);
    for (const rule of loaded) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
  });

  it('every dashboard query returns series, and so does every metric selector in it', async () => {
    const dashboard = loadDashboard();
    const problems: string[] = [];
    for (const { where, expr } of dashboardQueries(dashboard, dashboardValues)) {
      const answer = await query(expr);
      if (answer.status !== 'success') problems.push(`${where}: Prometheus refused ${expr}: ${answer.error}`);
      else if (answer.data!.result.length === 0) problems.push(`${where}: no series for ${expr}`);
      for (const selector of metricSelectors(expr)) {
        if ((await series(selector)) === 0) problems.push(`${where}: no series for ${selector}`);
      }
    }
    // The variables' own queries: Grafana's label_values(selector, label) is the series API's label values.
    for (const variable of dashboard.templating.list) {
      const text = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(fillVariables(text, dashboardValues));
      if (!labelValues) {
        problems.push(`variable ${variable.name}: not a label_values query: ${text}`);
        continue;
      }
      const [, selector, label] = labelValues as unknown as [string, string, string];
      const response = await fetch(`${prometheusUrl}/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`, { signal: AbortSignal.timeout(15_000) });
      const values = ((await response.json()) as { data?: string[] }).data ?? [];
      if (values.length === 0) problems.push(`variable ${variable.name}: ${text} has no values`);
      if (variable.name === 'job' && !values.includes(job)) problems.push(`variable job: ${text} does not offer ${job}: ${values.join(', ')}`);
    }
    assert.deepEqual(problems, []);
  });

  it('every rule parses and its metric selectors return series; the alerts for the conditions produced fire, the others do not', async () => {
    const problems: string[] = [];
    const rules = loadRules();
    for (const rule of rules) {
      const answer = await query(rule.expr);
      if (answer.status !== 'success') {
        problems.push(`${rule.name}: Prometheus refused ${rule.expr}: ${answer.error}`);
        continue;
      }
      for (const selector of metricSelectors(rule.expr)) {
        if ((await series(selector)) === 0) problems.push(`${rule.name}: no series for ${selector}`);
      }
      const firing = answer.data!.result.length;
      if (alertsProduced.includes(rule.name) && firing === 0) problems.push(`${rule.name}: its condition is false after the scenario made it true: ${rule.expr}`);
      if (alertsQuiet.includes(rule.name) && firing > 0) problems.push(`${rule.name}: its condition holds on a refreshing fleet: ${JSON.stringify(answer.data!.result)}`);
    }
    for (const name of [...alertsProduced, ...alertsQuiet]) assert.ok(rules.some((rule) => rule.name === name), `no rule ${name}`);
    assert.deepEqual(problems, []);
  });
});
