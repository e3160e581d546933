// The fleet page's HTTP layer (src/ui/server.ts's app) in process, on in-memory data: what each
// page shows, that every outside string is escaped, the security headers, the 400s, and the
// token, session, CSRF and same-origin rules. test/e2e/fleet-page.test.ts runs it for real.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterControl, RefreshOutcome } from '../../src/adapters/cluster-control.js';
import type { FleetReads, FleetSnapshot } from '../../src/adapters/fleet-reads.js';
import { createLogger } from '../../src/adapters/logger.js';
import { summaryOf } from '../../src/adapters/store-documents.js';
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
    cut: false,
    queries: 3,
  };
  const fleet: FleetReads = {
    snapshot: () => Promise.resolve(snapshot),
    cluster: (id) => Promise.resolve(id === 'rs0' ? { summary: summaryOf(view), discovery: snapshot.discoveries[0]! } : { summary: null, discovery: null }),
  };
  const refreshes: string[] = [];
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
        };
      });
      return Promise.resolve({ kind: 'answered' as const, results, runId: 'run-1', status: 'RUNNING' });
    },
    refreshNow: (id): Promise<RefreshOutcome> => {
      refreshes.push(id);
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
    logger: createLogger('error'),
  };
  return { deps, hub, refreshes };
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
