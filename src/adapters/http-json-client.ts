/**
 * The one way fleetview talks JSON over HTTP to things it does not control (agents, discovery
 * endpoints): keep-alive agents built once, a per-request timeout (connect to last byte), a
 * response size cap enforced while the body streams in, no retries, no redirects, no
 * decompression, and TLS options. Every outcome is a value: transport failures, non-2xx answers
 * and bodies that are not JSON come back as `{ok: false, reason}` with a short reason naming what
 * went wrong, so callers decide what a failure means (an agent down, a discovery source failing).
 *
 * Built on node:http itself, not got: a refresh is three small GETs per node, and got's
 * per-request machinery (option normalisation, hooks, its stream wrappers, p-cancelable) cost
 * about 7x the CPU of the plain requests (`npm run bench:agents`: 789 µs of client CPU per
 * three-call observation against 110 µs for three plain GETs), the largest share of the worker's
 * CPU in a 1,000-cluster profile. Everything got did for us here is a few lines below.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { oneLine, quoted } from '../domain/text.js';
import { errorBodyReason } from './error-body.js';

export interface TlsOptions {
  /** PEM CA bundle that verifies the server certificate (default: Node's built-in roots). */
  caFile?: string | undefined;
  /** PEM client certificate for mTLS; needs keyFile. */
  certFile?: string | undefined;
  /** PEM private key of certFile. */
  keyFile?: string | undefined;
  /** Skip server certificate verification. An explicit opt-in; default false. */
  insecureSkipVerify?: boolean | undefined;
}

export interface JsonHttpClientOptions {
  /** Budget of one request, connect to last byte, in ms. */
  timeoutMs: number;
  /** Largest body accepted, in bytes; a bigger one is a failure and its download is aborted. */
  maxResponseBytes: number;
  /** Headers sent with every request (e.g. a bearer token). */
  headers?: Record<string, string> | undefined;
  /**
   * Header that tells the server the request budget in seconds (as Prometheus sends
   * `X-Prometheus-Scrape-Timeout-Seconds`); omitted when undefined.
   */
  timeoutHeader?: string | undefined;
  tls?: TlsOptions | undefined;
  /** Concurrent connections per origin (default 256); as many may stay idle. */
  maxSocketsPerOrigin?: number | undefined;
  /**
   * Idle keep-alive connections are closed after this many ms (default 4000): below the 5 s
   * idle timeout most servers use. A shorter `Keep-Alive: timeout=N` hint from the server wins.
   * Longer is safe too: a request whose kept-alive connection the server closed meanwhile is
   * sent again once on a new one (see `request`).
   */
  idleSocketTimeoutMs?: number | undefined;
  /** Idle connections kept over all origins (default: no bound); past it, a freed connection stays pooled only 1 s. */
  maxIdleSockets?: number | undefined;
  /** Sent as User-Agent. */
  userAgent?: string | undefined;
}

export type JsonHttpOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; reason: string; status?: number };

export interface JsonRequest {
  method?: 'GET' | 'POST';
  /** JSON request body (POST). */
  json?: unknown;
  /** This request's budget in ms, instead of the client's `timeoutMs`. */
  timeoutMs?: number | undefined;
  /** Aborts the request (Temporal cancelled the activity that made it). */
  signal?: AbortSignal | undefined;
}

export interface JsonHttpClient {
  request(url: string, request?: JsonRequest): Promise<JsonHttpOutcome>;
  /** Closes the pooled connections; requests after close fail. */
  close(): void;
}

/** Messages of Node's errors are cut to this length before they reach a reason. */
const maxQuotedMessage = 200;

export function createJsonHttpClient(options: JsonHttpClientOptions): JsonHttpClient {
  const maxSockets = options.maxSocketsPerOrigin ?? 256;
  const agentOptions = {
    keepAlive: true,
    maxSockets,
    // One origin may serve many nodes (a gateway, the sim): all its connections may stay pooled.
    maxFreeSockets: maxSockets,
    timeout: options.idleSocketTimeoutMs ?? 4000,
    scheduling: 'lifo' as const,
  };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  if (options.maxIdleSockets !== undefined) boundIdleSockets([agents.http, agents.https], options.maxIdleSockets);
  // A call sent again after a stale pooled connection must not pick another pooled one.
  const freshAgents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const tls = options.tls ?? {};
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': options.userAgent ?? 'fleetview',
    ...options.headers,
  };
  const timeoutHeader = options.timeoutHeader;
  if (timeoutHeader) headers[timeoutHeader] = formatSeconds(options.timeoutMs);
  const tlsOptions: https.RequestOptions = {
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
    rejectUnauthorized: !tls.insecureSkipVerify,
  };

  async function request(url: string, init: JsonRequest = {}): Promise<JsonHttpOutcome> {
    const timeoutMs = init.timeoutMs ?? options.timeoutMs;
    const started = performance.now();
    const first = await send(url, init, timeoutMs, init.timeoutMs !== undefined, false);
    const leftMs = Math.floor(timeoutMs - (performance.now() - started));
    // A kept-alive connection the server had closed (its idle timeout, a restart) fails at once,
    // before any answer: the request never reached a live server, so it goes again once, on a
    // new connection and within what is left of its budget, as Go's and browsers' clients do
    // for idempotent requests. Only a reused connection qualifies: a reset on a fresh one is the
    // server's own answer.
    const idempotent = (init.method ?? 'GET') === 'GET';
    if ('error' in first && first.staleConnection && idempotent && leftMs > 0 && !init.signal?.aborted) {
      return outcomeOf(await send(url, init, leftMs, true, true), timeoutMs);
    }
    return outcomeOf(first, timeoutMs);
  }

  function outcomeOf(sent: Sent, timeoutMs: number): JsonHttpOutcome {
    if ('response' in sent) return interpretResponse(sent.response);
    if (sent.failure === 'too-large') return { ok: false, reason: `response larger than ${options.maxResponseBytes} bytes` };
    if (sent.failure === 'timeout') return { ok: false, reason: `timeout after ${timeoutMs} ms` };
    if (sent.failure === 'aborted') return { ok: false, reason: 'aborted' };
    return { ok: false, reason: describeRequestError(sent.error) };
  }

  /**
   * One request: resolves with the whole response or with why there is none, never rejects.
   * `announceBudget` sends this request's own budget in the timeout header.
   */
  function send(url: string, init: JsonRequest, budgetMs: number, announceBudget: boolean, freshConnection: boolean): Promise<Sent> {
    return new Promise<Sent>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ error: new Error(`invalid URL ${quoted(url, maxQuotedMessage)}`), failure: 'transport', staleConnection: false });
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        resolve({ error: new Error(`unsupported protocol ${quoted(target.protocol, 20)}`), failure: 'transport', staleConnection: false });
        return;
      }
      const signal = init.signal;
      if (signal?.aborted) {
        resolve({ error: signal.reason, failure: 'aborted', staleConnection: false });
        return;
      }
      const body = init.json === undefined ? undefined : Buffer.from(JSON.stringify(init.json), 'utf8');
      let requestHeaders = headers;
      if ((announceBudget && timeoutHeader) || body) {
        requestHeaders = { ...headers };
        if (announceBudget && timeoutHeader) requestHeaders[timeoutHeader] = formatSeconds(budgetMs);
        if (body) {
          requestHeaders['content-type'] = 'application/json';
          requestHeaders['content-length'] = String(body.length);
        }
      }
      const pool = freshConnection ? freshAgents : agents;
      const outgoing = secure
        ? https.request(target, { method: init.method ?? 'GET', headers: requestHeaders, agent: pool.https, ...tlsOptions })
        : http.request(target, { method: init.method ?? 'GET', headers: requestHeaders, agent: pool.http });

      let settled = false;
      let responded = false;
      const settle = (sent: Sent): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(sent);
      };
      // Whatever ends the request first names the failure; the error that destroying it emits
      // then finds the request settled.
      const stop = (failure: Failure, error: Error): void => {
        if (settled) return;
        settle({ error, failure, staleConnection: false });
        outgoing.destroy(error);
      };
      // Only the network ends a request here: stop's own errors arrive settled.
      const onError = (error: Error): void => {
        const staleConnection = !responded && outgoing.reusedSocket && staleConnectionCodes.has((error as NodeJS.ErrnoException).code ?? '');
        settle({ error, failure: 'transport', staleConnection });
      };
      const timer = setTimeout(() => stop('timeout', new Error(`timeout after ${budgetMs} ms`)), budgetMs);
      const onAbort = (): void => stop('aborted', new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });

      outgoing.on('error', onError);
      outgoing.on('response', (response) => {
        responded = true;
        const announced = Number(response.headers['content-length'] ?? 0);
        if (announced > options.maxResponseBytes) {
          stop('too-large', new Error('response too large'));
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // At most one chunk past the cap is ever held.
          if (received > options.maxResponseBytes) stop('too-large', new Error('response too large'));
          else chunks.push(chunk);
        });
        response.on('end', () => {
          settle({
            response: {
              statusCode: response.statusCode ?? 0,
              statusMessage: response.statusMessage ?? '',
              headers: response.headers,
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received),
            },
          });
        });
        response.on('error', onError);
        // The connection closed before the body ended (a reset mid-body, the server gone).
        response.on('close', () => {
          if (!response.complete) onError(Object.assign(new Error('connection closed before the response ended'), { code: 'ECONNRESET' }));
        });
      });
      outgoing.end(body);
    });
  }

  return {
    request,
    close() {
      for (const agent of [agents.http, agents.https, freshAgents.http, freshAgents.https]) agent.destroy();
    },
  };
}

/** What ended a request without a response: its own budget, the caller, the size cap, or the network. */
type Failure = 'timeout' | 'aborted' | 'too-large' | 'transport';

interface RawResponse {
  statusCode: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Sent = { response: RawResponse } | { error: unknown; failure: Failure; staleConnection: boolean };

/** Errors of a request that went out on a pooled connection the server had closed meanwhile. */
const staleConnectionCodes = new Set(['ECONNRESET', 'EPIPE']);

/** How long a connection freed past the idle bound stays pooled: enough for its node's next call. */
const overflowGraceMs = 1000;

/**
 * Bounds the idle connections of `agents` together: at `max`, a connection whose call ended
 * stays pooled only `overflowGraceMs` (a node's agent info connection then carries its
 * datastore call) instead of the idle timeout. Refreshes visit nodes in a cycle, where closing
 * the least recently used would close exactly the one needed next (no reuse at all once the
 * fleet is past the bound); keeping those already pooled reuses `max` of them, and the idle
 * timeout frees the places of nodes no longer refreshed. Idle connections are at most `max`
 * plus those freed in the last second. (Node's own `maxTotalSockets` counts busy and idle
 * sockets alike and makes a new origin wait for an idle one to time out.)
 */
function boundIdleSockets(agents: http.Agent[], max: number): void {
  // The agents hand these hooks net.Socket (tls.TLSSocket for https); @types/node says Duplex.
  const idle = new Set<Socket>();
  const watched = new WeakSet<Socket>();
  for (const agent of agents) {
    // Both are documented hooks of http.Agent: a socket is about to be pooled / is taken from the pool.
    const keepSocketAlive = agent.keepSocketAlive.bind(agent) as (socket: Socket) => boolean;
    agent.keepSocketAlive = (socket: Socket): boolean => {
      if (!keepSocketAlive(socket)) return false;
      if (idle.size >= max) {
        // The agent closes a pooled socket when this fires (and sets its own again when it is next pooled).
        socket.setTimeout(Math.min(overflowGraceMs, socket.timeout || overflowGraceMs));
        return true;
      }
      idle.add(socket);
      if (!watched.has(socket)) {
        watched.add(socket);
        socket.once('close', () => idle.delete(socket));
      }
      return true;
    };
    const reuseSocket = agent.reuseSocket.bind(agent);
    agent.reuseSocket = (socket, request) => {
      idle.delete(socket as Socket);
      reuseSocket(socket, request);
    };
  }
}

function interpretResponse(response: RawResponse): JsonHttpOutcome {
  const status = response.statusCode;
  const contentType = oneLine(response.headers['content-type'] ?? '', 80);
  const encoding = response.headers['content-encoding'];
  if (status >= 300 && status < 400) {
    const location = response.headers.location;
    return { ok: false, status, reason: `HTTP ${status} redirect${location ? ` to ${quoted(location, maxQuotedMessage)}` : ''} not followed` };
  }
  if (encoding && encoding.toLowerCase() !== 'identity') {
    return { ok: false, status, reason: `HTTP ${status} with unsupported content-encoding ${quoted(encoding, 80)}` };
  }
  if (status < 200 || status >= 300) {
    // An error body is only read for its reason: bytes that are not UTF-8 just become U+FFFD.
    const message = errorBodyReason(parseJson(response.body, false).value);
    if (message !== null) return { ok: false, status, reason: `HTTP ${status}: ${message}` };
    const what = response.body.length === 0 ? 'empty body' : `${contentType || 'untyped'} body`;
    const statusText = response.statusMessage ? ` ${oneLine(response.statusMessage, 80)}` : '';
    return { ok: false, status, reason: `HTTP ${status}${statusText} (${what})` };
  }
  const parsed = parseJson(response.body, true);
  if (!parsed.ok) {
    return { ok: false, status, reason: `HTTP ${status} body is not ${parsed.notUtf8 ? 'UTF-8' : 'JSON'} (${contentType || 'no content-type'}, ${response.body.length} bytes)` };
  }
  return { ok: true, status, body: parsed.value };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON is UTF-8 (RFC 8259): a body of other bytes is refused when `strict`, not guessed at. */
function parseJson(body: Buffer, strict: boolean): { ok: true; value: unknown } | { ok: false; value?: undefined; notUtf8?: boolean } {
  let text: string;
  try {
    text = strict ? strictUtf8.decode(body) : body.toString('utf8');
  } catch {
    return { ok: false, notUtf8: true };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const tlsErrorCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

/** A short reason for a request that got no HTTP response (not a timeout, abort or size cap: those are named by `send`). */
export function describeRequestError(error: unknown): string {
  if (!(error instanceof Error)) return clip(String(error));
  const code = (error as NodeJS.ErrnoException).code ?? '';
  // OpenSSL messages carry library internals: `...:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/...`
  const message = clip(/SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.message);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return `connection reset without a response (${message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup failed (${message})`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable (${message})`;
  if (tlsErrorCodes.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /certificate|ssl|tls/i.test(message)) {
    return `TLS: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`;
  }
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Seconds with at most three decimals: `5`, `0.3`. */
function formatSeconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

function clip(text: string): string {
  return oneLine(text, maxQuotedMessage);
}
