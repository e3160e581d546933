/**
 * The fleet page's HTTP server (`fleetview ui`, and `npm run demo`): a hono app on Node's http
 * server. Pages are rendered on the server from the store (the fleet), the cluster's workflow
 * (a cluster) and the one Kafka reader's recent events; the events page follows new ones through
 * server-sent events. Everything it reads or calls is built once by the caller and handed in.
 *
 * Security (./security.ts): loopback unless a token is set; with one, every request carries it
 * or the login's session cookie; POSTs are same-origin with the form's CSRF token; every page
 * has a strict Content-Security-Policy and escapes all text; no secret is ever rendered or logged
 * (logs hold method, path, status and time: never headers, cookies or form fields).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { ClusterControl, ControlAction, ControlOutcome, RefreshOutcome } from '../adapters/cluster-control.js';
import type { EventFeedStatus } from '../adapters/event-feed.js';
import type { FleetReads } from '../adapters/fleet-reads.js';
import { closeServer, listen } from '../adapters/listen.js';
import type { Logger } from '../adapters/logger.js';
import { summaryOf, type ClusterSummary } from '../adapters/store-documents.js';
import { ControlRequestError, effectiveSettings, parseMaintenanceRequest, parsePauseRequest, type Actor } from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import { clusterWorkflowId } from '../domain/ids.js';
import { viewPage, type ViewPageRequest } from '../domain/view-page.js';
import type { EventHub, LiveEvent } from './event-hub.js';
import { fleetPage, fleetRows } from './fleet-rows.js';
import { stylesheet, eventsScript } from './pages/assets.js';
import { renderClusterPage, type ClusterPageData } from './pages/cluster-page.js';
import { feedNote, renderEventsPage } from './pages/events-page.js';
import { renderFleetPage } from './pages/fleet-page.js';
import { problemPage, type Frame, type Html } from './pages/layout.js';
import { renderLoginPage } from './pages/login-page.js';
import { BadQuery, parseClusterId, parseClusterPageQuery, parseEventsQuery, parseFleetQuery, type ClusterPageQuery } from './query.js';
import { contentSecurityPolicy, crossSiteProblem, Gatekeeper, hostAllowed, localPath, sessionCookie, sessionTtlMs, type Identity } from './security.js';

export interface UiDependencies {
  fleet: FleetReads;
  control: ClusterControl;
  /** A cluster's stored view, rebuilt from its documents: the members when its workflow does not answer. */
  loadStoredView(clusterId: string): Promise<ClusterView | null>;
  hub: EventHub;
  feedStatus(): EventFeedStatus;
  topic: string;
  temporalUi: { url: string; namespace: string };
  defaultAgentTimeoutMs: number;
  /** The identity of the page's Temporal client: named in the audit events of its actions. */
  temporalIdentity?: string;
  logger: Logger;
}

/** What a POST on a cluster page just did: shown above the page. */
interface Outcome {
  refresh?: RefreshOutcome;
  control?: ControlOutcome;
}

/** The page's pause and maintenance forms offer durations; the empty one (pause only) is until resumed. */
function formDuration(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  if (!/^\d{1,9}$/.test(raw)) throw new ControlRequestError([`for must be a number of seconds, got ${JSON.stringify(raw.slice(0, 40))}`]);
  return Number(raw);
}

/** A form's action, validated as the workflow validates it (the field and the value named), before anything is sent. */
function controlAction(route: 'pause' | 'resume' | 'maintenance', form: Record<string, string>, actor: Actor): ControlAction {
  const nowMs = Date.now();
  if (route === 'resume') return { kind: 'resume' };
  if (route === 'maintenance' && form.end === 'true') return { kind: 'end-maintenance' };
  const forS = formDuration(form.for);
  // An empty field is no reason: the request says it is required.
  const raw = { reason: form.reason || null, ...(forS === null ? {} : { for_s: forS }), actor };
  if (route === 'pause') {
    const request = parsePauseRequest(raw, nowMs);
    return { kind: 'pause', reason: request.reason, for_s: forS };
  }
  const request = parseMaintenanceRequest(raw, nowMs);
  if (request.end || forS === null) throw new ControlRequestError(['a maintenance window needs its end: pick how long it lasts']);
  return { kind: 'maintenance', reason: request.reason, for_s: forS };
}

export interface UiAppOptions {
  /** The listen address: without a token, requests must name a loopback host (DNS rebinding). */
  host: string;
  token: string | undefined;
  deps: UiDependencies;
}

/** A cluster's members are read from the store only up to this size (its workflow pages larger ones). */
export const storeFallbackMaxNodes = 300;
/** Keep-alive comments on event streams, so proxies and browsers see a live connection. */
const pingMs = 15_000;

type Env = { Bindings: HttpBindings; Variables: { identity: Identity } };

class Forbidden extends Error {}

export interface UiApp {
  app: Hono<Env>;
  /** Ends every open event stream (the server is stopping). */
  closeStreams: () => void;
}

export function createUiApp(options: UiAppOptions): UiApp {
  const { deps } = options;
  const gate = new Gatekeeper(options.token);
  const app = new Hono<Env>();
  const streams = new Set<{ end(): void }>();
  /**
   * Who asks, in the audit events of what the page sends: the page and how the visitor got in
   * (one token: the page knows no names), with the Temporal client's identity.
   */
  const actorOf = (c: Context<Env>): Actor => ({ user: `fleet page (${c.get('identity').kind})`, identity: deps.temporalIdentity ?? null });

  const frame = (c: Context<Env>, title: string, nav: Frame['nav']): Frame => {
    const identity = c.get('identity');
    return { title, nav, logout: identity.kind === 'session' ? { csrf: gate.csrfToken(identity) } : null };
  };
  const htmlPage = async (c: Context<Env>, status: 200 | 400 | 403 | 404 | 500 | 502 | 503, page: Html) => c.html(await page, status);

  // Every answer: no caching of pages, no framing, no sniffing, no referrer, scripts and styles from here only.
  app.use('*', async (c, next) => {
    const started = Date.now();
    await next();
    c.header('Content-Security-Policy', contentSecurityPolicy);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    // Not no-referrer: under it browsers send `Origin: null` with the page's own form POSTs,
    // which the same-origin check must then refuse. same-origin tells other sites nothing.
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (!c.res.headers.get('Cache-Control')) c.header('Cache-Control', 'no-store');
    deps.logger.debug('fleet page request', { method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started });
  });

  app.use('*', async (c, next) => {
    // Without a token, only names of this machine: a site whose name was re-pointed at 127.0.0.1 is refused.
    if (!gate.requiresToken && !hostAllowed(c.req.header('host'), options.host)) {
      return c.text('this fleet page answers only to a loopback host name (it requires no token)\n', 421);
    }
    return next();
  });

  app.get('/static/fleet.css', (c) => c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-cache' }));
  // Browsers ask for it on every page: an empty answer, not a login redirect or a 404 page.
  app.get('/favicon.ico', (c) => c.body(null, 204, { 'Cache-Control': 'max-age=86400' }));
  app.get('/static/events.js', (c) => c.body(eventsScript, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' }));

  app.use('*', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('the request body is too large\n', 413) }));

  app.get('/login', async (c) => {
    if (!gate.requiresToken) return c.redirect('/', 303);
    return htmlPage(c, 200, renderLoginPage(localPath(c.req.query('next')), null));
  });

  app.post('/login', async (c) => {
    if (!gate.requiresToken) return c.redirect('/', 303);
    const problem = crossSiteProblem({ origin: c.req.header('origin'), 'sec-fetch-site': c.req.header('sec-fetch-site'), host: c.req.header('host') }, new URL(c.req.url).protocol.replace(':', ''));
    if (problem) return c.text(`refused: ${problem}\n`, 403);
    const form = await c.req.parseBody();
    const next = localPath(typeof form.next === 'string' ? form.next : undefined);
    if (typeof form.token !== 'string' || !gate.acceptsToken(form.token)) {
      deps.logger.warn('fleet page: a login with a wrong token');
      return htmlPage(c, 403, renderLoginPage(next, 'That is not the token.'));
    }
    const secure = new URL(c.req.url).protocol === 'https:' ? '; Secure' : '';
    c.header('Set-Cookie', `${sessionCookie}=${gate.newSession()}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${sessionTtlMs / 1000}${secure}`);
    return c.redirect(next, 303);
  });

  // Everything below needs the token (when one is set).
  app.use('*', async (c, next) => {
    const identity = gate.identify({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') });
    if (identity === null) {
      const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
      if (wantsPage) return c.redirect(`/login?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}`, 303);
      c.header('WWW-Authenticate', 'Bearer realm="fleetview"');
      return c.text('this fleet page requires its token: Authorization: Bearer <FLEETVIEW_UI_TOKEN>, basic auth with it as the password, or log in at /login\n', 401);
    }
    c.set('identity', identity);
    return next();
  });

  /** A POST's form, once it is shown to come from one of the page's own forms. */
  async function ownForm(c: Context<Env>): Promise<Record<string, string>> {
    const problem = crossSiteProblem({ origin: c.req.header('origin'), 'sec-fetch-site': c.req.header('sec-fetch-site'), host: c.req.header('host') }, new URL(c.req.url).protocol.replace(':', ''));
    if (problem) throw new Forbidden(`refused: ${problem}`);
    const form = await c.req.parseBody();
    const csrf = typeof form.csrf === 'string' ? form.csrf : undefined;
    if (!gate.csrfValid(c.get('identity'), csrf)) throw new Forbidden('refused: the form\'s CSRF token is missing or wrong (reload the page and try again)');
    return Object.fromEntries(Object.entries(form).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }

  app.post('/logout', async (c) => {
    await ownForm(c);
    c.header('Set-Cookie', `${sessionCookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return c.redirect('/login', 303);
  });

  app.get('/', async (c) => {
    const query = parseFleetQuery(new URL(c.req.url).searchParams);
    const started = Date.now();
    const snapshot = await deps.fleet.snapshot();
    const nowMs = Date.now();
    const fleet = fleetPage(fleetRows(snapshot.summaries, snapshot.discoveries, snapshot.controls, nowMs), query);
    return htmlPage(
      c,
      200,
      renderFleetPage(frame(c, 'Fleet', 'fleet'), {
        fleet,
        query,
        health: snapshot.health,
        cut: snapshot.cut,
        controlsError: snapshot.controlsError,
        nowMs,
        cost: { ms: Date.now() - started, queries: snapshot.queries },
      }),
    );
  });

  function webUiLinks(clusterId: string, runId: string | null): ClusterPageData['links'] {
    const base = `${deps.temporalUi.url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows`;
    const workflowId = clusterWorkflowId(clusterId);
    return {
      workflow: `${base}?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`,
      run: runId ? `${base}/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history` : null,
    };
  }

  /** Everything the cluster page shows; null when nothing at all knows the cluster. */
  async function clusterPageData(c: Context<Env>, clusterId: string, query: ClusterPageQuery, outcome: Outcome): Promise<ClusterPageData | null> {
    const base: ViewPageRequest = { limit: query.limit, ...(query.node ? { node: query.node } : {}), ...(query.shard ? { shard: query.shard } : {}) };
    const requests = [{ ...base, offset: query.members_offset }];
    if (query.shards_offset !== query.members_offset) requests.push({ ...base, offset: query.shards_offset });
    const [answer, stored] = await Promise.all([
      deps.control.view(clusterId, requests),
      deps.fleet.cluster(clusterId).catch((err: unknown) => ({ summary: null, discovery: null, controls: null, error: err instanceof Error ? err.message : String(err) })),
    ]);
    // The workflow holds the controls as they are; the store, the operator's and the discovery's layers as last written.
    const fromWorkflow = answer.kind === 'answered' ? answer.results[0]?.controls : undefined;
    const controls: ClusterPageData['controls'] = fromWorkflow
      ? { from: 'workflow', settings: fromWorkflow.settings, pause: fromWorkflow.pause, maintenance: fromWorkflow.maintenance }
      : 'error' in stored
        ? null
        : {
            from: 'store',
            settings: effectiveSettings({ default: {}, discovery: stored.discovery?.record_settings ?? {}, operator: stored.controls?.operator ?? {} }),
            pause: stored.controls?.pause ?? null,
            maintenance: stored.controls?.maintenance ?? null,
          };
    const storeProblem = 'error' in stored ? `the store did not answer (${stored.error})` : null;
    const events = deps.hub.recent({ cluster: clusterId, codes: [] }, 50);
    const common = {
      clusterId,
      nowMs: Date.now(),
      discovery: stored.discovery,
      events,
      eventsNote: feedNote(deps.feedStatus(), deps.topic),
      refresh: outcome.refresh ?? null,
      control: outcome.control ?? null,
      csrf: gate.csrfToken(c.get('identity')),
      query,
      defaultAgentTimeoutMs: deps.defaultAgentTimeoutMs,
      controls,
    };

    if (answer.kind === 'answered') {
      const [first, second] = answer.results as [NonNullable<(typeof answer.results)[number]>, (typeof answer.results)[number] | undefined];
      const shardsAnswer = second ?? first;
      const view = first.view;
      return {
        ...common,
        links: webUiLinks(clusterId, answer.runId),
        source: { kind: 'workflow', phase: first.phase },
        summary: view ? summaryOf(view) : stored.summary,
        members: view && first.page ? { items: view.members, total: first.page.members_total, offset: query.members_offset, truncated: first.page.truncated } : null,
        shards:
          shardsAnswer.view && shardsAnswer.page
            ? { items: shardsAnswer.view.shards, total: shardsAnswer.page.shards_total, offset: query.shards_offset, truncated: shardsAnswer.page.truncated }
            : null,
        workflow: {
          phase: first.phase,
          events_pending: first.events_pending,
          stored_generation: first.stored_generation,
          store_error: first.store_error,
          published_generation: first.published_generation,
          record_nodes_total: first.record_nodes_total,
          settings: first.settings,
          last_report: first.last_report,
          status: answer.status,
        },
      };
    }

    if (answer.kind === 'not-found' && stored.summary === null && stored.discovery === null && storeProblem === null) return null;
    const why = answer.kind === 'not-found' ? `no workflow ${clusterWorkflowId(clusterId)} runs (retired, or not started yet)` : answer.problem;
    const summary: ClusterSummary | null = stored.summary;
    let members: ClusterPageData['members'] = null;
    let shards: ClusterPageData['shards'] = null;
    let source: ClusterPageData['source'] = storeProblem ? { kind: 'none', why: `${why}; ${storeProblem}` } : { kind: 'store', why };
    if (summary && summary.nodes <= storeFallbackMaxNodes) {
      const view = await deps.loadStoredView(clusterId).catch(() => null);
      if (view) {
        const membersPage = viewPage(view, { ...base, offset: query.members_offset });
        const shardsPage = viewPage(view, { ...base, offset: query.shards_offset });
        members = { items: membersPage.view.members, total: membersPage.page.members_total, offset: query.members_offset, truncated: membersPage.page.truncated };
        shards = { items: shardsPage.view.shards, total: shardsPage.page.shards_total, offset: query.shards_offset, truncated: shardsPage.page.truncated };
      }
    } else if (summary) {
      source = { kind: 'store', why: `${why}; the store's members of a cluster of ${summary.nodes} nodes are shown through its workflow only` };
    }
    return { ...common, links: webUiLinks(clusterId, null), source, summary, members, shards, workflow: null };
  }

  async function clusterPage(c: Context<Env>, outcome: Outcome, status: 200 | 400 | 502) {
    const clusterId = parseClusterId(c.req.param('id') ?? '');
    const query = parseClusterPageQuery(new URL(c.req.url).searchParams);
    const data = await clusterPageData(c, clusterId, query, outcome);
    if (data === null) {
      return htmlPage(c, 404, problemPage(frame(c, 'Unknown cluster', 'fleet'), 'Unknown cluster', `No cluster ${clusterId}: no workflow ${clusterWorkflowId(clusterId)} and nothing stored.`));
    }
    return htmlPage(c, status, renderClusterPage(frame(c, clusterId, 'fleet'), data));
  }

  app.get('/clusters/:id', (c) => clusterPage(c, {}, 200));

  app.post('/clusters/:id/refresh', async (c) => {
    const clusterId = parseClusterId(c.req.param('id'));
    await ownForm(c);
    const outcome = await deps.control.refreshNow(clusterId, actorOf(c));
    deps.logger.info('fleet page: refresh now', { cluster: clusterId, ok: outcome.ok, ...(outcome.ok ? { generation: outcome.report.generation } : { problem: outcome.problem }) });
    return clusterPage(c, { refresh: outcome }, outcome.ok ? 200 : 502);
  });

  /** Pause, resume and maintenance: checked here as the workflow checks them, then sent as its update. */
  for (const route of ['pause', 'resume', 'maintenance'] as const) {
    app.post(`/clusters/:id/${route}`, async (c) => {
      const clusterId = parseClusterId(c.req.param('id') ?? '');
      const form = await ownForm(c);
      const actor = actorOf(c);
      let action: ControlAction;
      try {
        action = controlAction(route, form, actor);
      } catch (err) {
        if (!(err instanceof ControlRequestError)) throw err;
        return clusterPage(c, { control: { ok: false, action: route, problem: err.message } }, 400);
      }
      const outcome = await deps.control.control(clusterId, action, actor);
      deps.logger.info(`fleet page: ${action.kind}`, { cluster: clusterId, ok: outcome.ok, ...(outcome.ok ? { revision: outcome.result.revision } : { problem: outcome.problem }) });
      return clusterPage(c, { control: outcome }, outcome.ok ? 200 : 502);
    });
  }

  app.get('/events', async (c) => {
    const query = parseEventsQuery(new URL(c.req.url).searchParams);
    const filter = { cluster: query.cluster, codes: query.codes };
    const position = deps.hub.position;
    const events = deps.hub.recent(filter, query.limit);
    return htmlPage(c, 200, renderEventsPage(frame(c, 'Events', 'events'), { query, events, position, feed: deps.feedStatus(), topic: deps.topic }));
  });

  app.get('/events/stream', (c) => {
    const query = parseEventsQuery(new URL(c.req.url).searchParams);
    const filter = { cluster: query.cluster, codes: query.codes };
    const subscription = deps.hub.subscribe(filter);
    if (subscription === null) return c.text('too many open event streams on this server; try again later\n', 503, { 'Retry-After': '10' });
    // A browser reconnecting says where it was (Last-Event-ID); the page's first connection, with `after`.
    const { events: missed, gap } = deps.hub.since(c.req.header('last-event-id') ?? query.after, filter, query.limit);
    const outgoing = c.env?.outgoing;
    const stream = { end: () => subscription.end('closed') };
    streams.add(stream);
    const send = (sse: SSEStreamingApi, event: LiveEvent) =>
      sse.writeSSE({ event: 'fleet-event', id: event.position, data: JSON.stringify(event) });
    return streamSSE(c, async (sse) => {
      sse.onAbort(() => subscription.end('closed'));
      const ping = setInterval(() => void sse.write(': ping\n\n'), pingMs);
      try {
        await sse.write('retry: 3000\n\n');
        if (gap) await sse.writeSSE({ event: 'gap', data: 'the server restarted or too many events came meanwhile: only the recent ones are shown' });
        for (const event of missed) await send(sse, event);
        for await (const event of subscription) await send(sse, event);
        if (subscription.ended === 'slow') {
          deps.logger.warn('fleet page: dropped an event stream that fell behind', { queued_max: 'reached' });
          // Whatever the socket still buffers goes with it: the browser reconnects and resumes.
          outgoing?.destroy();
        }
      } finally {
        clearInterval(ping);
        streams.delete(stream);
        subscription.end('closed');
      }
    });
  });

  app.notFound(async (c) => htmlPage(c, 404, problemPage({ title: 'Not found', nav: null, logout: null }, 'Not found', `Nothing here: ${c.req.path}`)));

  app.onError(async (err, c) => {
    const bare: Frame = { title: 'Problem', nav: null, logout: null };
    if (err instanceof BadQuery) return htmlPage(c, 400, problemPage(bare, 'Bad request', err.message));
    if (err instanceof Forbidden) return c.text(`${err.message}\n`, 403);
    deps.logger.error('fleet page: request failed', { method: c.req.method, path: c.req.path, error: err.message });
    return htmlPage(c, 500, problemPage(bare, 'Something failed', `The page could not be built: ${err.message.split('\n')[0]!.slice(0, 300)}`));
  });

  return {
    app,
    closeStreams: () => {
      for (const stream of [...streams]) stream.end();
    },
  };
}

export interface UiServer {
  /** `http://host:port` to open (127.0.0.1 when listening on every address). */
  url: string;
  port: number;
  /** Ends the event streams, stops listening and closes every connection, within a bound. */
  close(): Promise<void>;
}

export async function startUiServer(options: UiAppOptions & { port: number }): Promise<UiServer> {
  const { app, closeStreams } = createUiApp(options);
  // overrideGlobalObjects: false keeps Node's own Request and Response for the rest of the process (Temporal, fetch).
  const server = createAdaptorServer({ fetch: (request, env) => app.fetch(request, env), overrideGlobalObjects: false });
  if ('headersTimeout' in server) {
    // A caller must send its request within these; event streams (long responses) are not bound by them.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
  }
  const { url, port } = await listen(server as Server, options.host, options.port, 'the fleet page', 'FLEETVIEW_UI_PORT');
  server.on('error', (err: Error) => options.deps.logger.error('fleet page: server error', { error: err.message }));
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      if (!closing) {
        // Event streams end as their subscriptions do; whatever still holds on goes in 2 s.
        closeStreams();
        closing = closeServer(server as Server);
      }
      return closing;
    },
  };
}

/** A random name for an event hub's stream positions (a restarted server's are other ones). */
export function newInstanceId(): string {
  return randomBytes(4).toString('hex');
}
