// test-runner: alone (headless Chromium beside a worker and a sim; it times how fast an event reaches an open page)
// The fleet page for real: `fleetview ui` spawned as operators run it, on the real services, a
// worker, a simulated fleet and its clusters' workflows, driven in headless Chromium (Debian's,
// through puppeteer-core): the login form, the fleet table, the XSS probe, a datastore going
// down shown live on an open events page, the "refresh now" button, pause and maintenance
// windows from the store (column, filter, escaping), events about a discovery and events in
// maintenance shown live, and a bind off loopback without a token refused. FLEETVIEW_UI_SCREENSHOT_DIR=docs/images also saves the pages' screenshots.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { kafkaSecurity } from '../../src/adapters/connections/index.js';
import { createControlStore } from '../../src/adapters/control-store.js';
import { ensureSearchAttributes } from '../../src/adapters/search-attributes.js';
import { createKafkaPublisher } from '../../src/adapters/kafka-publisher.js';
import { createLogger } from '../../src/adapters/logger.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import { discoveryScopedEvent, envelope } from '../../src/domain/event-catalogue.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { viewQuery } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, fleetviewBin, runFleetview } from '../helpers/cli.js';
import { eventually } from '../helpers/polling.js';
import { connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig();
const idPrefix = `${uniqueName('ui')}-`;
const token = `t0k3n-${uniqueName('ui')}`.replace(/[^A-Za-z0-9-]/g, '');
const xss = '<img src=x onerror=alert(1)>';
/** The clusters' refresh interval: a change in the sim must show on an open page within it. */
const intervalS = 3;
/** What a refresh, its publish, the page's Kafka reader and the stream take on top of the interval. */
const processingMs = 2_000;
const chromium = process.env.FLEETVIEW_CHROMIUM ?? '/usr/bin/chromium';
const screenshotDir = process.env.FLEETVIEW_UI_SCREENSHOT_DIR;

let sim: SimHandle;
let worker: TestWorker | undefined;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let store: ClusterStore;
let ui: ChildProcess | undefined;
let uiStderr = '';
let url: string;
let browser: Browser | undefined;
let page: Page;
const dialogs: string[] = [];
const started: WorkflowHandle[] = [];
let mongoId: string;
let kafkaId: string;
let zkId: string;

async function admin(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${sim.url}/admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(response.status, 200, `${path}: ${await response.text()}`);
}

/** Starts `fleetview ui` and resolves with the URL it prints once it listens. */
function startUi(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [fleetviewBin, 'ui'], { env: { ...process.env, ...configEnv(config), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  ui = child;
  child.stderr.on('data', (chunk: Buffer) => (uiStderr = (uiStderr + chunk.toString()).slice(-8000)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`fleetview ui did not say where it listens within 60 s:\n${uiStderr}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /fleet page at (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fleetview ui exited ${code} before listening:\n${uiStderr}`));
    });
  });
}

async function stopUi(): Promise<void> {
  const child = ui;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(kill);
  assert.equal(code, 0, `fleetview ui stopped with ${code} on SIGTERM:\n${uiStderr}`);
}

/** The page as it is (its top `maxHeight` pixels at most) into FLEETVIEW_UI_SCREENSHOT_DIR, when set. */
async function screenshot(name: string, maxHeight = 1200): Promise<void> {
  if (!screenshotDir) return;
  mkdirSync(screenshotDir, { recursive: true });
  const height = Math.min(maxHeight, await inPage<number>('document.documentElement.scrollHeight'));
  await page.screenshot({ path: `${join(screenshotDir, name)}.png`, captureBeyondViewport: true, clip: { x: 0, y: 0, width: 1280, height } });
}

before(async () => {
  sim = await startSim({ clusters: 3, nodes: 3, idPrefix });
  [mongoId, kafkaId, zkId] = sim.records().map((record) => record.cluster_id) as [string, string, string];
  store = await createClusterStore(config.mongodb);
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  for (const record of sim.records()) {
    // The Kafka-like cluster carries the XSS probe as its display name: discovery and the workflow accept it (printable text).
    const displayName = record.cluster_id === kafkaId ? xss : record.display_name;
    started.push(
      await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
        taskQueue: config.temporal.taskQueue,
        workflowId: `cluster/${record.cluster_id}`,
        args: [{ ...record, display_name: displayName, refresh_interval_s: intervalS }],
      }),
    );
  }
  for (const handle of started) await waitForView(handle, (q) => (q.stored_generation ?? 0) >= 1, 60_000, `${handle.workflowId} stored its first view`);
  url = await startUi({ FLEETVIEW_UI_PORT: '0', FLEETVIEW_UI_TOKEN: token, FLEETVIEW_LOG_LEVEL: 'info' });
  browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 });
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.setDefaultNavigationTimeout(20_000);
  await page.setViewport({ width: 1280, height: 760 });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the browser': async () => {
        await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
      },
      'stopping fleetview ui': () => stopUi(),
      'terminating the cluster workflows': async () => {
        for (const handle of started) await terminateQuietly(handle);
      },
      'stopping the worker': () => worker?.stop(),
      'closing the Temporal client': () => temporal?.close(),
      'dropping the test database': () => store?.db.dropDatabase().catch(() => undefined),
      'closing the MongoDB store': () => store?.close(),
      'stopping the sim': () => sim?.close(),
    }),
  cleanupBound,
);

// Page probes are expressions run in the page (strings: the suite compiles without the DOM's types).
async function inPage<T>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}
const textOf = (selector: string) => inPage<string | null>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);
const attributeOf = (selector: string, name: string) => inPage<string | null>(`document.querySelector(${JSON.stringify(selector)})?.getAttribute(${JSON.stringify(name)}) ?? null`);
const countOf = (selector: string) => inPage<number>(`document.querySelectorAll(${JSON.stringify(selector)}).length`);

/** The clusters the fleet table lists, with their status. */
function fleetRows(): Promise<Record<string, string>> {
  return inPage(`Object.fromEntries([...document.querySelectorAll('#fleet tbody tr')].map((tr) => [tr.getAttribute('data-cluster'), tr.getAttribute('data-status')]))`);
}

describe('the fleet page in a browser', () => {
  it('requires the token: no page without it, the login form lets the operator in; the fleet table lists the sim\'s clusters', async () => {
    const anonymous = await fetch(`${url}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(anonymous.status, 303);
    assert.equal((await fetch(`${url}/events/stream`)).status, 401);
    const bearer = await fetch(`${url}/`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 200);
    assert.match(bearer.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'self'/);

    await page.goto(`${url}/`);
    assert.match(page.url(), /\/login\?next=%2F$/);
    await page.type('input[name="token"]', token);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await page.waitForSelector('#fleet');
    const rows = await fleetRows();
    for (const id of [mongoId, kafkaId, zkId]) assert.equal(rows[id], 'HEALTHY', `${id} listed: ${JSON.stringify(rows)}`);
    const cookies = await browser!.cookies();
    const session = cookies.find((cookie) => cookie.name === 'fleetview_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));
    assert.ok(!(await page.content()).includes(token), 'the token is in no page');
  });

  it('shows a display name of <img src=x onerror=alert(1)> as text: no element made of it, no script run', async () => {
    await page.goto(`${url}/`);
    assert.equal(await textOf(`#fleet tr[data-cluster="${kafkaId}"] .display-name`), xss);
    assert.equal(await countOf('img'), 0);
    await page.goto(`${url}/clusters/${kafkaId}`);
    assert.equal(await textOf('h1 .display-name'), xss);
    assert.equal(await countOf('img'), 0);
    assert.deepEqual(dialogs, [], 'no alert() ran');
  });

  it('shows a datastore going down on an open events page within one refresh interval, without a reload', async () => {
    // The page's Kafka reader is live (no note), and the page's stream is connected.
    await eventually('the page reads the events topic', async () => {
      await page.goto(`${url}/events?cluster=${zkId}`);
      return (await page.$('#feed-note')) === null;
    }, 30_000);
    await page.waitForSelector('#stream-state[data-state="live"]');
    assert.ok((await countOf('#events tbody tr[data-event="CLUSTER_STATUS_CHANGED"]')) >= 1, 'the cluster\'s first events are shown');
    // Anything the page was given on load stays; a reload would lose it.
    await page.evaluate('window.fleetviewTestMark = "not reloaded"');
    assert.equal(await countOf(`#events tbody tr[data-event="NODE_DOWN"][data-cluster="${zkId}"]`), 0);

    const changed = Date.now();
    await admin(`clusters/${zkId}/nodes/n2/state`, { datastore: 'down' });
    await page.waitForSelector(`#events tbody tr[data-event="NODE_DOWN"][data-cluster="${zkId}"]`, { timeout: intervalS * 1000 + processingMs });
    const latencyMs = Date.now() - changed;
    assert.ok(latencyMs <= intervalS * 1000 + processingMs, `${latencyMs} ms`);
    assert.equal(await inPage<string>('window.fleetviewTestMark'), 'not reloaded');
    const detail = await textOf(`#events tbody tr[data-event="NODE_DOWN"][data-cluster="${zkId}"] td.reason`);
    assert.match(detail ?? '', /UP -> NODE_DOWN: .*datastore operation/);
    process.stdout.write(`# NODE_DOWN on the open events page ${latencyMs} ms after the sim's change (interval ${intervalS} s)\n`);
    await page.waitForSelector(`#events tbody tr[data-event="CLUSTER_STATUS_CHANGED"][data-cluster="${zkId}"]:first-child`);
    await screenshot('events-page', 800);

    // The fleet table and the cluster page show it too (from the store and the workflow).
    await eventually('the fleet table shows the cluster DEGRADED', async () => {
      await page.goto(`${url}/`);
      return (await fleetRows())[zkId] === 'DEGRADED';
    }, 30_000);
    await screenshot('fleet-page');
    await page.goto(`${url}/clusters/${zkId}`);
    const status = await textOf(`#members tr[data-address="${sim.nodeUrl(zkId, 'n2')}"]`);
    assert.match(status ?? '', /NODE_DOWN.*datastore operation/s, 'the member, with the root cause');
    await screenshot('cluster-page', 1150);
    await admin(`clusters/${zkId}/nodes/n2/state`, { datastore: 'up' });
  });

  it('refresh now: the button runs the refreshNow update and shows its report', async () => {
    await page.goto(`${url}/clusters/${mongoId}`);
    const earlier = await temporal.client.workflow.getHandle(`cluster/${mongoId}`).query(viewQuery);
    await Promise.all([page.waitForNavigation({ timeout: 40_000 }), page.click('#refresh-now')]);
    const result = { ok: await attributeOf('#refresh-result', 'data-ok'), generation: await attributeOf('#refresh-result', 'data-generation'), text: await textOf('#refresh-result') };
    assert.equal(result.ok, 'true', result.text ?? '');
    assert.ok(Number(result.generation) > (earlier.last_report?.generation ?? 0), `generation ${result.generation} after ${earlier.last_report?.generation}`);
    assert.match(result.text ?? '', /^Refreshed: generation \d+, HEALTHY, 3 nodes fetched, 0 down/);
    // The members and shards of the page, and the links into the Temporal Web UI (the workflow, its current run).
    assert.equal(await countOf('#members tbody tr'), 3);
    assert.ok((await countOf('#shards tbody tr')) >= 1);
    const run = await attributeOf('#web-ui-run', 'href');
    const description = await temporal.client.workflow.getHandle(`cluster/${mongoId}`).describe();
    assert.ok(run?.endsWith(`/namespaces/default/workflows/${encodeURIComponent(`cluster/${mongoId}`)}/${description.runId}/history`), run ?? '');
    // Paged: one member a page, the next page through its link.
    await page.goto(`${url}/clusters/${mongoId}?limit=1`);
    assert.match((await textOf('[data-pager="members"] span')) ?? '', /members 1-1 of 3/);
    await Promise.all([page.waitForNavigation(), page.click('[data-pager="members"] a[rel="next"]')]);
    assert.match((await textOf('[data-pager="members"] span')) ?? '', /members 2-2 of 3/);
    assert.deepEqual(dialogs, []);
  });

  it('pause and maintenance windows from the store: columns, the paused filter, an ended window as none, operators\' text as text', async () => {
    // Written as a cluster's workflow writes them (a revision far ahead of any the running workflows reach).
    const controls = createControlStore(store.db);
    const actor = { user: xss, identity: 'e2e@test' };
    await controls.save(mongoId, { revision: 1_000, operator: {}, pause: { since: new Date().toISOString(), until: null, reason: xss, actor }, maintenance: null }, new Date());
    const past = new Date(Date.now() - 60_000).toISOString();
    await controls.save(kafkaId, { revision: 1_000, operator: {}, pause: null, maintenance: { since: past, until: past, reason: 'ended', actor } }, new Date());
    await page.goto(`${url}/`);
    assert.equal(await attributeOf(`#fleet tr[data-cluster="${mongoId}"]`, 'data-paused'), 'true');
    assert.equal(await attributeOf(`#fleet tr[data-cluster="${kafkaId}"]`, 'data-maintenance'), 'false', 'a window whose end has passed shows as none');
    assert.equal(await textOf(`#fleet tr[data-cluster="${mongoId}"] td.pause .reason`), xss);
    assert.match((await textOf(`#fleet tr[data-cluster="${mongoId}"] td.pause .sub`)) ?? '', /^until resumed, by <img src=x onerror=alert\(1\)>$/);
    assert.equal(await countOf('img'), 0);
    await Promise.all([page.waitForNavigation(), page.click('a[data-control="paused"]')]);
    assert.deepEqual(Object.keys(await fleetRows()), [mongoId], 'the paused filter');
    assert.match(page.url(), /\?control=paused$/);
    // The cluster page shows the settings in effect with their source, whoever holds them.
    await page.goto(`${url}/clusters/${zkId}`);
    assert.match((await textOf('#controls [data-setting="refresh_interval_s"]')) ?? '', /^(\d+ s \((set by an operator|from the discovery|the default)\)|the worker's default)$/);
    assert.deepEqual(dialogs, []);
  });

  it('events about a discovery name it (no cluster link); events in maintenance carry the mark, live', async () => {
    await page.goto(`${url}/events`);
    await page.waitForSelector('#stream-state[data-state="live"]');
    const publisher = createKafkaPublisher({ ...config.kafka, security: kafkaSecurity(config.kafka), logger: createLogger('error') });
    const now = new Date().toISOString();
    const name = `${uniqueName('disc')}-${xss}`;
    try {
      await publisher.publish([
        discoveryScopedEvent('DISCOVERY_PAUSED', { actor: { user: 'ops', identity: null }, discovery: name, reason: 'move', until: null, clusters: 3 }, now),
        {
          ...envelope({ event: 'CLUSTER_STATUS_CHANGED', node_id: null, payload: { before: 'HEALTHY', after: 'DEGRADED' } }, { id: `${zkId}/maint/0`, cluster_id: zkId, generation: 0, timestamp: now }),
          maintenance: { until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'disk swap' },
        },
      ]);
    } finally {
      await publisher.close();
    }
    const discoveryRow = '#events tbody tr[data-event="DISCOVERY_PAUSED"]';
    await page.waitForSelector(discoveryRow, { timeout: 15_000 });
    assert.equal(await attributeOf(discoveryRow, 'data-discovery'), name);
    assert.equal(await textOf(`${discoveryRow} td:nth-child(2)`), `discovery ${name}`);
    assert.equal(await countOf(`${discoveryRow} a`), 0, 'no cluster link');
    const marked = `#events tbody tr[data-id="${zkId}/maint/0"]`;
    await page.waitForSelector(marked, { timeout: 15_000 });
    assert.equal(await attributeOf(marked, 'data-maintenance'), 'true');
    assert.match((await attributeOf(`${marked} .tag.maintenance`, 'title')) ?? '', /^in maintenance until \S+: disk swap$/);
    // Rendered with the page too, not only through the stream.
    await page.goto(`${url}/events`);
    assert.equal(await textOf(`${discoveryRow} td:nth-child(2)`), `discovery ${name}`);
    assert.equal(await countOf(`${marked} .tag.maintenance`), 1);
    assert.equal(await countOf('img'), 0);
    assert.deepEqual(dialogs, []);
  });

  it('pause and resume through the cluster page\'s buttons: the workflow\'s updates, shown on the page and the fleet table', async () => {
    // The workflow sets FleetviewPaused when paused: registered as `fleetview start` does, for a
    // dev server started before it existed.
    await ensureSearchAttributes(temporal.client, config.temporal.namespace);
    await page.goto(`${url}/clusters/${zkId}`);
    await page.type('#pause-form input[name="reason"]', `e2e ${xss}`);
    await page.select('#pause-form select[name="for"]', '3600');
    await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('#pause-now')]);
    assert.equal(await attributeOf('#control-result', 'data-ok'), 'true', (await textOf('#control-result')) ?? '');
    await page.goto(`${url}/clusters/${zkId}`);
    assert.equal(await attributeOf('#pause [data-window]', 'data-window'), 'active');
    assert.equal(await textOf('#pause .reason'), `e2e ${xss}`);
    assert.match((await textOf('#pause .sub')) ?? '', /by fleet page \(session\)/);
    await eventually('the fleet table shows the pause (from the store)', async () => {
      await page.goto(`${url}/?control=paused`);
      return Object.keys(await fleetRows()).includes(zkId);
    }, 20_000);
    await page.goto(`${url}/clusters/${zkId}`);
    await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('#resume')]);
    assert.equal(await attributeOf('#control-result', 'data-ok'), 'true', (await textOf('#control-result')) ?? '');
    assert.match((await textOf('#control-result')) ?? '', /^Resume: done; the cluster is polled as usual/);
    assert.equal(await countOf('img'), 0);
    assert.deepEqual(dialogs, []);
  });

  it('refuses to start off loopback without a token, naming the setting', async () => {
    const refused = await runFleetview(['ui'], { ...process.env, ...configEnv(config), FLEETVIEW_UI_HOST: '0.0.0.0', FLEETVIEW_UI_PORT: '0' });
    expectExit(refused, 2, 'fleetview ui on 0.0.0.0 without a token');
    assert.match(refused.stderr, /fleetview ui: FLEETVIEW_UI_HOST=0\.0\.0\.0 is not a loopback address and FLEETVIEW_UI_TOKEN is not set/);
    assert.equal(refused.stdout, '', 'it never listened');
  });
});
