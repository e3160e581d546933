// The fleet page's HTTP layer (src/ui/server.ts's app) in process, on in-memory data: what each
// page shows, that every outside string is escaped, the security headers, the 400s, and the
// token, session, CSRF and same-origin rules. test/e2e/fleet-page.test.ts runs it for real.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterControl, ControlAction, ControlOutcome, RefreshOutcome } from '../../src/adapters/cluster-control.js';
import type { FleetReads, FleetSnapshot } from '../../src/adapters/fleet-reads.js';
import { createLogger } from '../../src/adapters/logger.js';
import { summaryOf } from '../../src/adapters/store-documents.js';
import { effectiveSettings, type Actor, type ControlWindow } from '../../src/domain/cluster-controls.js';
import { viewPage } from '../../src/domain/view-page.js';
import { clusterRefreshDefaults, type ViewQueryResult } from '../../src/workflows/messages.js';
import { EventHub } from '../../src/ui/event-hub.js';
import { createUiApp, type UiDependencies } from '../../src/ui/server.js';
import { nodeDown, record, refresh, shard, up, at } from './domain-fixtures.js';

const xss = '<img src=x onerror=alert(1)>';
const token = 'the-fleet-page-token-0123456789ab';
const host = '127.0.0.1:8235';
const origin = `http://${host}`;

const { view } = refresh(null, record([1, 2, 3], xss), [up(1, [shard('rs0', 'primary')]), nodeDown(2, '<script>alert(2)</script>'), up(3, [shard('rs0', 'secondary', { unit: 'seconds', value: 4 })])], at(0));

const pauseWindow: ControlWindow = { since: at(0), until: null, reason: '<script>alert(4)</script> upgrade', actor: { user: '<b>ops</b>', identity: '42@host' } };
// Far ahead: the fixtures' times are in the past, and this window must hold now.
const maintenanceWindow: ControlWindow = { since: at(0), until: '2099-01-01T00:00:00.000Z', reason: 'disk swap', actor: { user: 'ana', identity: null } };

function fixtures() {
  const hub = new EventHub({ instance: 'test1' });
  hub.add({
    id: 'rs0/2/0',
    category: 'NODE',
    event: 'NODE_DOWN',
    cluster_id: 'rs0',
    node_id: null,
    generation: 2,
    timestamp: at(1),
    schema: 1,
    payload: { address: 'http://mongo-2:37017', before: { code: 'UP' }, after: { code: 'NODE_DOWN', reason: '<b>bold</b> reason' } },
  });
  const snapshot: FleetSnapshot = {
    summaries: [summaryOf(view), { ...summaryOf(view), cluster_id: 'kafka-1', display_name: null, status: 'HEALTHY', kinds: ['kafka'], agents_down: 0, nodes_down: 0 }],
    discoveries: [{ cluster_id: 'rs0', display_name: xss, discovery: '<i>inventory</i>', held_by: [], missing_since: null, retired_at: null }],
    health: [{ name: 'inv', enabled: true, last_run: { at: at(2), ok: false, error: '<svg onload=alert(3)>' }, hold: { held: 4, previous: 10, listed: 6, since: at(2), at: at(2) } }],
    controls: [
      { cluster_id: 'rs0', pause: pauseWindow, maintenance: null },
      { cluster_id: 'kafka-1', pause: { ...pauseWindow, until: at(-60) }, maintenance: maintenanceWindow },
      { cluster_id: 'unknown-1', pause: pauseWindow, maintenance: null },
    ],
    controlsError: null,
    cut: false,
    queries: 4,
  };
  const fleet: FleetReads = {
    snapshot: () => Promise.resolve(snapshot),
    cluster: (id) =>
      Promise.resolve(
        id === 'rs0'
          ? { summary: summaryOf(view), discovery: snapshot.discoveries[0]!, controls: null }
          : id === 'kafka-1'
            ? {
                summary: snapshot.summaries[1]!,
                discovery: { cluster_id: 'kafka-1', display_name: null, discovery: 'inv', held_by: [], missing_since: null, retired_at: null, record_settings: { refresh_interval_s: 60 } },
                controls: { revision: 3, operator: { agent_timeout_ms: 2500 }, pause: null, maintenance: maintenanceWindow },
              }
            : { summary: null, discovery: null, controls: null },
      ),
  };
  const refreshes: string[] = [];
  const actions: Array<{ id: string; action: ControlAction; actor: Actor }> = [];
  const refreshActors: Array<Actor | undefined> = [];
  const control: ClusterControl = {
    view: (id, requests) => {
      if (id !== 'rs0') return Promise.resolve({ kind: 'not-found' as const });
      const results = requests.map((request): ViewQueryResult => {
        const paged = viewPage(view, request);
        return {
          view: paged.view,
          page: paged.page,
          last_report: null,
          record: record([1, 2, 3], xss),
          record_nodes_total: 3,
          settings: clusterRefreshDefaults,
          phase: 'waiting',
          events_pending: 0,
          stored_generation: 1,
          store_error: null,
          published_generation: 1,
          publishing_view: null,
          controls: {
            cluster_id: 'rs0',
            settings: effectiveSettings({ default: { refresh_interval_s: 15 }, discovery: { agent_timeout_ms: 3000 }, operator: { refresh_interval_s: 60 } }),
            layers: { default: { refresh_interval_s: 15 }, discovery: { agent_timeout_ms: 3000 }, operator: { refresh_interval_s: 60 } },
            pause: pauseWindow,
            maintenance: null,
            revision: 2,
          },
        };
      });
      return Promise.resolve({ kind: 'answered' as const, results, runId: 'run-1', status: 'RUNNING' });
    },
    control: (id, action, actor): Promise<ControlOutcome> => {
      actions.push({ id, action, actor });
      if (action.kind === 'end-maintenance') return Promise.resolve({ ok: false, action: action.kind, problem: 'cluster/rs0 refused it: <em>no maintenance</em>' });
      const paused = action.kind === 'pause' ? { since: at(9), until: null, reason: action.reason, actor } : null;
      return Promise.resolve({
        ok: true,
        action: action.kind,
        result: { cluster_id: id, settings: effectiveSettings({ default: {}, discovery: {}, operator: {} }), layers: { default: {}, discovery: {}, operator: {} }, pause: paused, maintenance: null, revision: 9, changed: true, recorded: true },
      });
    },
    refreshNow: (id, actor): Promise<RefreshOutcome> => {
      refreshes.push(id);
      refreshActors.push(actor);
      return Promise.resolve({ ok: true, report: { generation: 7, started_at: at(3), duration_ms: 12, nodes_fetched: 3, nodes_down: 1, events_emitted: 0, status: 'DEGRADED', store: 'unchanged' } });
    },
  };
  const deps: UiDependencies = {
    fleet,
    control,
    loadStoredView: () => Promise.resolve(view),
    hub,
    feedStatus: () => ({ state: 'live', since: at(0), error: null, read: 1 }),
    topic: 'fleetview.events',
    temporalUi: { url: 'http://127.0.0.1:8233/', namespace: 'default' },
    defaultAgentTimeoutMs: 5000,
    temporalIdentity: 'ui-1@test',
    logger: createLogger('error'),
  };
  return { deps, hub, refreshes, actions, refreshActors };
}

function app(tokenValue?: string) {
  const built = fixtures();
  const { app: hono } = createUiApp({ host: '127.0.0.1', token: tokenValue, deps: built.deps });
  const request = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> =>
    hono.request(path, { ...init, headers: { host, accept: 'text/html', ...init.headers } });
  return { ...built, request };
}

const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1];
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });

describe('fleet page app, no token (loopback)', () => {
  it('the fleet page: every cluster, strict headers, every outside string escaped', async () => {
    const { request } = app();
    const response = await request('/');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = await response.text();
    assert.match(body, /data-cluster="rs0" data-status="DEGRADED"/);
    assert.match(body, /data-cluster="kafka-1" data-status="HEALTHY"/);
    assert.ok(body.indexOf('data-cluster="rs0"') < body.indexOf('data-cluster="kafka-1"'), 'the worst first');
    assert.ok(body.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(body.includes('&lt;i&gt;inventory&lt;/i&gt;'));
    assert.ok(body.includes('&lt;svg onload=alert(3)&gt;'), 'a failing discovery is named, escaped');
    assert.match(body, /held: 4 retirements/);
    assert.ok(!/<img|<svg|<i>/.test(body), 'no markup from outside');
    assert.match(body, /2\/3<\/td>/, 'nodes up of total');
  });

  it('filters and sorts through query parameters; a bad one is a 400 naming it', async () => {
    const { request } = app();
    const kafka = await (await request('/?kind=kafka')).text();
    assert.ok(kafka.includes('data-cluster="kafka-1"') && !kafka.includes('data-cluster="rs0"'));
    const bad = await request('/?sort=size');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /bad query parameter sort: expected one of status, cluster/);
    const unknown = await request(`/?${encodeURIComponent('<script>')}=1`);
    assert.equal(unknown.status, 400);
    assert.ok((await unknown.text()).includes('bad query parameter &quot;&lt;script&gt;&quot;'));
    assert.equal((await request('/clusters/%7B%22%24gt%22%3A%22%22%7D')).status, 400);
    assert.equal((await request('/clusters/rs0?limit=0')).status, 400);
  });

  it('the cluster page: members with the reason, shards, settings, recent events, Web UI links', async () => {
    const { request } = app();
    const response = await request('/clusters/rs0');
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.ok(body.includes('&lt;script&gt;alert(2)&lt;/script&gt;'), 'the root cause, escaped');
    assert.ok(!body.includes('<script>alert'), body);
    assert.match(body, /data-status="NODE_DOWN"/);
    assert.match(body, /data-shard="rs0"/);
    assert.match(body, /refresh interval<\/dt><dd>15 s/);
    assert.match(body, /agent timeout<\/dt><dd>5000 ms \(the worker&#39;s default\)/);
    assert.ok(body.includes('&lt;b&gt;bold&lt;/b&gt; reason'), 'its recent events, escaped');
    assert.ok(body.includes('href="http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22cluster%2Frs0%22"'));
    assert.ok(body.includes('href="http://127.0.0.1:8233/namespaces/default/workflows/cluster%2Frs0/run-1/history"'));
    const paged = await (await request('/clusters/rs0?limit=1&members_offset=1')).text();
    assert.match(paged, /members 2-2 of 3/);
    assert.match(paged, /members_offset=2/, 'a link to the next page');
    assert.equal((await request('/clusters/nowhere')).status, 404);
  });

  it('pages a 2,000-node cluster with 100,000 shard copies: one bounded page of members and of shards', async () => {
    const nodes = Array.from({ length: 2000 }, (_, i) => i + 1);
    // 50 shard copies per node, three per shard: shard k lives on nodes k, k+1 and k+2 (mod 2,000).
    const observations = nodes.map((n) => up(n, Array.from({ length: 50 }, (_, j) => shard(`t-${(n - 1 - (j % 3) + 2000) % 2000}-${Math.floor(j / 3)}`, j % 3 === 0 ? 'primary' : 'secondary'))));
    const big = refresh(null, record(nodes, 'Big'), observations, at(0)).view;
    const built = fixtures();
    built.deps.control = {
      ...built.deps.control,
      view: (_id, requests) => {
        const results = requests.map((request): ViewQueryResult => {
          const paged = viewPage(big, request);
          return { view: paged.view, page: paged.page, last_report: null, record: { ...record([1]), nodes: [] }, record_nodes_total: 2000, settings: clusterRefreshDefaults, phase: 'waiting', events_pending: 0, stored_generation: 1, store_error: null, published_generation: 1, publishing_view: null };
        });
        return Promise.resolve({ kind: 'answered' as const, results, runId: 'run-1', status: 'RUNNING' });
      },
    };
    const { app: hono } = createUiApp({ host: '127.0.0.1', token: undefined, deps: built.deps });
    const get = async (path: string) => (await hono.request(path, { headers: { host, accept: 'text/html' } })).text();
    const first = await get('/clusters/rs0');
    // 50 members a page, or fewer when their shards would outgrow the view query's answer budget.
    const shown = Number(/members 1-(\d+) of 2000/.exec(first)?.[1]);
    assert.ok(shown > 0 && shown <= 50, first.slice(0, 2000));
    assert.equal(first.match(/data-status="UP"/g)?.length, shown, 'one page of members');
    assert.match(first, new RegExp(`members_offset=${shown}"`), 'a link to the next page');
    assert.ok(Buffer.byteLength(first) < 512 * 1024, `a bounded page, got ${Buffer.byteLength(first)} bytes`);
    const last = await get('/clusters/rs0?members_offset=1995&shards_offset=33300');
    assert.match(last, /members 1996-2000 of 2000/);
    assert.ok(!/members_offset=2000/.test(last), 'no next page after the last');
  });

  it('refresh now: a same-origin POST with the form token runs the update and shows its report', async () => {
    const { request, refreshes } = app();
    const page = await (await request('/clusters/rs0')).text();
    const csrf = csrfOf(page);
    assert.ok(csrf);
    const headers = { origin, 'sec-fetch-site': 'same-origin' };
    const noToken = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(noToken.status, 403);
    const { body, ...type } = form({ csrf });
    const crossSite = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...type, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body });
    assert.equal(crossSite.status, 403);
    assert.deepEqual(refreshes, [], 'refused POSTs ran nothing');
    const ok = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...headers, ...type }, body });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /id="refresh-result" data-ok="true" data-generation="7">Refreshed: generation 7, DEGRADED, 3 nodes fetched/);
    assert.deepEqual(refreshes, ['rs0']);
  });

  it('pause and maintenance columns: windows that hold now, escaped; an ended one shows as none; filters and counts', async () => {
    const { request } = app();
    const body = await (await request('/')).text();
    assert.match(body, /data-cluster="rs0" data-status="DEGRADED" data-paused="true" data-maintenance="false"/);
    assert.match(body, /data-cluster="kafka-1" data-status="HEALTHY" data-paused="false" data-maintenance="true"/, 'a pause whose end has passed shows as none');
    assert.ok(!body.includes('data-cluster="unknown-1"'), 'windows of clusters the fleet does not know make no row');
    assert.ok(body.includes('&lt;script&gt;alert(4)&lt;/script&gt; upgrade'), 'the reason, escaped');
    assert.ok(body.includes('until resumed, by &lt;b&gt;ops&lt;/b&gt;'), 'who, escaped');
    assert.ok(body.includes('until <time datetime="2099-01-01T00:00:00.000Z">2099-01-01T00:00:00.000Z</time>'));
    assert.ok(!/<script>alert|<b>ops/.test(body));
    assert.match(body, /data-control="paused"><span class="badge s-paused">paused 1</);
    assert.match(body, /data-control="maintenance"><span class="badge s-maintenance">in maintenance 1</);
    const paused = await (await request('/?control=paused')).text();
    assert.ok(paused.includes('data-cluster="rs0"') && !paused.includes('data-cluster="kafka-1"'));
    const maintenance = await (await request('/?control=maintenance&status=HEALTHY')).text();
    assert.ok(maintenance.includes('data-cluster="kafka-1"') && !maintenance.includes('data-cluster="rs0"'));
    const bad = await request('/?control=stopped');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /bad query parameter control: expected one of paused, maintenance/);
  });

  it('a store that does not give the windows: the fleet still shows, with a note', async () => {
    const built = fixtures();
    const snapshot = await built.deps.fleet.snapshot();
    built.deps.fleet = { ...built.deps.fleet, snapshot: () => Promise.resolve({ ...snapshot, controls: [], controlsError: 'reading cluster_controls: no answer within 5000 ms' }) };
    const { app: hono } = createUiApp({ host: '127.0.0.1', token: undefined, deps: built.deps });
    const body = await (await hono.request('/', { headers: { host, accept: 'text/html' } })).text();
    assert.match(body, /id="controls-note">Pauses and maintenance windows are not shown: the store did not answer \(reading cluster_controls: no answer within 5000 ms\)/);
    assert.match(body, /data-cluster="rs0" data-status="DEGRADED" data-paused="false"/);
  });

  it('the cluster page: settings in effect with their source and the pause, from the workflow; else from the store', async () => {
    const { request } = app();
    const body = await (await request('/clusters/rs0')).text();
    assert.match(body, /data-setting="refresh_interval_s">60 s <span class="muted" data-source="operator">\(set by an operator\)/);
    assert.match(body, /data-setting="agent_timeout_ms">3000 ms <span class="muted" data-source="discovery">\(from the discovery\)/);
    assert.match(body, /data-setting="node_retire_grace_s">the worker&#39;s default</);
    assert.match(body, /id="pause"><span class="badge s-paused" data-window="active">paused<\/span>/);
    assert.ok(body.includes('until resumed, by &lt;b&gt;ops&lt;/b&gt; <span class="muted">(42@host)</span>'));
    assert.ok(body.includes('<div class="reason">&lt;script&gt;alert(4)&lt;/script&gt; upgrade</div>'));
    assert.match(body, /id="maintenance"><span class="muted">no</);
    assert.match(body, /From the cluster&#39;s workflow\./);

    // No workflow answers for kafka-1: the store's layers (the operator's, the discovery's) and windows.
    const stored = await (await request('/clusters/kafka-1')).text();
    assert.match(stored, /data-setting="refresh_interval_s">60 s <span class="muted" data-source="discovery">/);
    assert.match(stored, /data-setting="agent_timeout_ms">2500 ms <span class="muted" data-source="operator">/);
    assert.match(stored, /id="maintenance"><span class="badge s-maintenance" data-window="active">in maintenance<\/span>/);
    assert.match(stored, /id="pause"><span class="muted">no</);
    assert.match(stored, /From the store \(the workflow did not answer with them\)/);
  });

  it('events about a discovery show its name, not a cluster link; events in maintenance carry the mark', async () => {
    const { request, hub } = app();
    hub.add({
      id: 'discovery/<i>inv</i>/2026-11-24T10:05:00.000Z/DISCOVERY_PAUSED',
      category: 'DISCOVERY',
      event: 'DISCOVERY_PAUSED',
      cluster_id: null,
      node_id: null,
      generation: 0,
      timestamp: at(5),
      schema: 1,
      payload: { actor: { user: 'ops', identity: null }, discovery: '<i>inv</i>', reason: 'move', until: null, clusters: 2 },
    });
    hub.add({
      id: 'rs0/5/0',
      category: 'CLUSTER',
      event: 'CLUSTER_STATUS_CHANGED',
      cluster_id: 'rs0',
      node_id: null,
      generation: 5,
      timestamp: at(6),
      schema: 1,
      payload: { before: 'DEGRADED', after: 'UNAVAILABLE' },
      maintenance: { until: '2099-01-01T00:00:00.000Z', reason: '<u>swap</u>' },
    });
    const body = await (await request('/events')).text();
    assert.match(body, /data-cluster="" data-discovery="&lt;i&gt;inv&lt;\/i&gt;" data-maintenance="false"><td class="mono">[^<]+<\/td><td><span class="tag discovery"[^>]*>discovery<\/span> &lt;i&gt;inv&lt;\/i&gt;<\/td>/);
    assert.ok(!body.includes('href="/clusters/null"') && !body.includes('href="/clusters/"'), 'no link to a cluster page');
    assert.match(body, /data-cluster="rs0" data-discovery="" data-maintenance="true">.*<span class="tag maintenance" title="in maintenance until 2099-01-01T00:00:00.000Z: &lt;u&gt;swap&lt;\/u&gt;">maintenance<\/span>/);
    assert.ok(!/<i>inv|<u>swap/.test(body));
    const clusterOnly = await (await request('/events?cluster=rs0')).text();
    assert.ok(!clusterOnly.includes('DISCOVERY_PAUSED</span>'), 'a cluster filter leaves out events about discoveries');
    const clusterPage = await (await request('/clusters/rs0')).text();
    assert.match(clusterPage, /data-maintenance="true"/, 'the cluster page marks its events too');
  });

  it('pause, resume and maintenance: same-origin POSTs with the form token, checked before they are sent, naming the fleet page', async () => {
    const { request, actions, refreshActors } = app();
    const page = await (await request('/clusters/rs0')).text();
    const csrf = csrfOf(page)!;
    assert.match(page, /id="resume-form"/, 'rs0 is paused: it offers resume');
    assert.match(page, /id="maintenance-form"/);
    const headers = { origin, 'sec-fetch-site': 'same-origin' };
    const post = (path: string, fields: Record<string, string>) => request(path, { method: 'POST', headers: { ...headers, ...form(fields) }, body: form(fields).body });

    const noToken = await post('/clusters/rs0/pause', { reason: 'x', for: '3600' });
    assert.equal(noToken.status, 403);
    const noReason = await post('/clusters/rs0/pause', { csrf, reason: '', for: '3600' });
    assert.equal(noReason.status, 400);
    assert.match(await noReason.text(), /id="control-result" data-ok="false" data-action="pause">Pause refused or failed: reason is required/);
    const badReason = await post('/clusters/rs0/maintenance', { csrf, reason: 'a\u001b[2Jb', for: '3600' });
    assert.equal(badReason.status, 400);
    assert.match(await badReason.text(), /reason .*control character U\+001B/);
    const badFor = await post('/clusters/rs0/pause', { csrf, reason: 'ok', for: '-5' });
    assert.equal(badFor.status, 400);
    assert.deepEqual(actions, [], 'nothing refused was sent');

    const paused = await post('/clusters/rs0/pause', { csrf, reason: '<i>upgrade</i>', for: '3600' });
    assert.equal(paused.status, 200);
    assert.match(await paused.text(), /id="control-result" data-ok="true" data-action="pause" data-changed="true">Pause: done; the cluster is paused \(controls revision 9\)/);
    assert.equal((await post('/clusters/rs0/resume', { csrf })).status, 200);
    assert.equal((await post('/clusters/rs0/pause', { csrf, reason: 'until resumed', for: '' })).status, 200);
    assert.equal((await post('/clusters/rs0/maintenance', { csrf, reason: 'disks', for: '7200' })).status, 200);
    const ended = await post('/clusters/rs0/maintenance', { csrf, end: 'true' });
    assert.equal(ended.status, 502);
    assert.ok((await ended.text()).includes('End of maintenance refused or failed: cluster/rs0 refused it: &lt;em&gt;no maintenance&lt;/em&gt;'));
    const actor = { user: 'fleet page (open)', identity: 'ui-1@test' };
    assert.deepEqual(actions, [
      { id: 'rs0', action: { kind: 'pause', reason: '<i>upgrade</i>', for_s: 3600 }, actor },
      { id: 'rs0', action: { kind: 'resume' }, actor },
      { id: 'rs0', action: { kind: 'pause', reason: 'until resumed', for_s: null }, actor },
      { id: 'rs0', action: { kind: 'maintenance', reason: 'disks', for_s: 7200 }, actor },
      { id: 'rs0', action: { kind: 'end-maintenance' }, actor },
    ]);
    assert.equal((await post('/clusters/rs0/refresh', { csrf })).status, 200);
    assert.deepEqual(refreshActors, [actor], 'refresh now names who asked too');
  });

  it('answers only loopback host names (DNS rebinding)', async () => {
    const { request } = app();
    assert.equal((await request('/', { headers: { host: 'attacker.example:8235' } })).status, 421);
  });

  it('the events page and its stream: what came after the page, then new events as they come', async () => {
    const { request, hub } = app();
    const page = await (await request('/events')).text();
    assert.ok(page.includes('&lt;b&gt;bold&lt;/b&gt; reason'));
    const stream = /data-stream="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    assert.match(stream, /^\/events\/stream\?after=test1%3A1$/);
    hub.add({ id: 'rs0/3/0', category: 'CLUSTER', event: 'CLUSTER_STATUS_CHANGED', cluster_id: 'rs0', node_id: null, generation: 3, timestamp: at(2), schema: 1, payload: { before: 'DEGRADED', after: 'HEALTHY' } });
    const response = await request(stream, { headers: { accept: 'text/event-stream' } });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      const deadline = Date.now() + 5_000;
      while (!pattern.test(text)) {
        assert.ok(Date.now() < deadline, `no ${pattern} in ${text}`);
        const { value, done } = await reader.read();
        assert.ok(!done, 'the stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/id: test1:2/);
    assert.match(text, /retry: 3000/);
    assert.ok(!text.includes('rs0/2/0'), 'what the page showed is not sent again');
    assert.equal(hub.subscriberCount, 1);
    hub.add({ id: 'rs0/4/0', category: 'CLUSTER', event: 'CLUSTER_STATUS_CHANGED', cluster_id: 'rs0', node_id: null, generation: 4, timestamp: at(3), schema: 1, payload: { before: 'HEALTHY', after: 'DEGRADED' } });
    await readUntil(/"id":"rs0\/4\/0"/);
    await reader.cancel();
    const deadline = Date.now() + 5_000;
    while (hub.subscriberCount > 0) {
      assert.ok(Date.now() < deadline, 'a closed stream lets go of its subscription');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});

describe('fleet page app, with a token', () => {
  it('lets nobody in without it: pages go to the login form, the rest get 401', async () => {
    const { request } = app(token);
    const page = await request('/clusters/rs0?limit=5');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login?next=%2Fclusters%2Frs0%3Flimit%3D5');
    const api = await request('/events/stream', { headers: { accept: 'text/event-stream' } });
    assert.equal(api.status, 401);
    assert.equal(api.headers.get('www-authenticate'), 'Bearer realm="fleetview"');
    assert.equal((await request('/', { headers: { authorization: 'Bearer not-the-token' } })).status, 303);
    assert.equal((await request('/static/fleet.css')).status, 200, 'the stylesheet holds no data');
  });

  it('takes the token as a bearer or a basic auth password; bearer POSTs need no form token', async () => {
    const { request, refreshes } = app(token);
    const bearer = await request('/', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 200);
    const basic = await request('/', { headers: { authorization: `Basic ${Buffer.from(`ops:${token}`).toString('base64')}` } });
    assert.equal(basic.status, 200);
    const { body, ...type } = form({});
    const basicPost = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...type, authorization: `Basic ${Buffer.from(`ops:${token}`).toString('base64')}` }, body });
    assert.equal(basicPost.status, 403, 'browsers send basic auth by themselves: the form token is needed');
    const bearerPost = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...type, authorization: `Bearer ${token}` }, body });
    assert.equal(bearerPost.status, 200);
    assert.deepEqual(refreshes, ['rs0']);
  });

  it('logs in through the form: an HttpOnly SameSite=Strict cookie that holds no secret; the token never shows in a page', async () => {
    const { request } = app(token);
    const login = await request('/login?next=/events');
    const loginPage = await login.text();
    assert.match(loginPage, /type="password" name="token"/);
    const headers = { origin, 'sec-fetch-site': 'same-origin' };
    const wrong = await request('/login', { method: 'POST', headers: { ...headers, ...form({ token: 'nope', next: '/events' }) }, body: form({ token: 'nope', next: '/events' }).body });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const { body, ...type } = form({ token, next: '//evil.example/' });
    const crossSite = await request('/login', { method: 'POST', headers: { ...type, origin: 'https://evil.example' }, body });
    assert.equal(crossSite.status, 403);
    const ok = await request('/login', { method: 'POST', headers: { ...headers, ...type }, body });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/', 'never to another site');
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^fleetview_session=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);
    assert.ok(!cookie.includes(token));
    const session = cookie.split(';')[0]!;
    const pages = await Promise.all(['/', '/clusters/rs0', '/events'].map((path) => request(path, { headers: { cookie: session } })));
    for (const response of pages) {
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.ok(!text.includes(token), 'the token is in no page');
      assert.match(text, /action="\/logout"/);
    }
    const csrf = csrfOf(await (await request('/clusters/rs0', { headers: { cookie: session } })).text())!;
    const refreshed = await request('/clusters/rs0/refresh', { method: 'POST', headers: { ...headers, ...form({ csrf }), cookie: session }, body: form({ csrf }).body });
    assert.equal(refreshed.status, 200);
    const logout = await request('/logout', { method: 'POST', headers: { ...headers, ...form({ csrf }), cookie: session }, body: form({ csrf }).body });
    assert.equal(logout.status, 303);
    assert.match(logout.headers.get('set-cookie') ?? '', /Max-Age=0/);
  });
});
