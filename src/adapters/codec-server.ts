/**
 * The codec endpoint of the Temporal Web UI (and of `temporal ... --codec-endpoint`) for
 * fleetview's offloaded payloads: workflow histories hold External Storage references (see
 * payload-store.ts), and this server resolves them from the store, so the UI shows the data.
 *
 * The protocol (the "codec server" protocol: temporalio/samples-go codec-server/protocol.md, the
 * Go SDK's converter.NewPayloadCodecHTTPHandler, temporalio/ui src/lib/services/data-encoder.ts):
 * - `POST <any prefix>/decode` and `POST <any prefix>/encode`, body and answer a Payloads message
 *   in proto3 JSON: `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`,
 *   the answer in the same order. Only the last path segment counts; 400 for a body that is not
 *   that. Headers: `Content-Type: application/json`, `X-Namespace: <namespace>`, and when the UI
 *   is set to pass its access token, `Authorization: Bearer ...` (plus `Authorization-Extras`,
 *   the ID token, in recent UIs); with `includeCredentials` the browser sends cookies too.
 * - The browser calls the endpoint directly, so CORS must be answered: the custom headers make
 *   every call preflighted (OPTIONS).
 * - What the UI does with an answer: decode failures (a network error or a non-2xx status) make it
 *   show the payloads as they are, with its "codec server failed" marker; one failing reference
 *   must therefore never fail its whole batch, which is why a missing or unreadable payload is a
 *   note in place of that payload. An /encode failure fails the UI action (start workflow, signal
 *   with input), so /encode must answer; fleetview has no codec, so it returns payloads unchanged.
 *
 * Decoding: a reference payload of fleetview's driver is resolved through the driver's
 * `retrieve` (every store call bounded by the store timeout); any other payload goes back
 * unchanged. Nothing here authenticates callers: listen on loopback or behind your own proxy.
 * Logs never hold request headers (tokens, cookies) or payload data.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { METADATA_ENCODING_KEY, METADATA_MESSAGE_TYPE_KEY, StorageDriverClaim, encodingTypes, type Payload } from '@temporalio/common';
import { describeType } from '../domain/text.js';
import { closeServer, listen } from './listen.js';
import type { Logger } from './logger.js';
import { payloadDriverName, StoredPayloadMissingError, type PayloadStoreDriver, type StoredPayloadInfo } from './payload-store.js';

/** A payload as proto3 JSON carries it: byte fields in base64. Unknown fields (`externalPayloads`) are kept as they came. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
  [field: string]: unknown;
}

export interface CodecServerOptions {
  driver: PayloadStoreDriver;
  host: string;
  /** 0: any free port. */
  port: number;
  /** Browser origins allowed to call (CORS); `*` among them: any origin (then without credentials). */
  allowedOrigins: string[];
  /** A stored payload larger than this (uncompressed) is answered with a note, not its data. */
  maxPayloadBytes: number;
  maxRequestBytes: number;
  logger: Logger;
}

export interface CodecServer {
  /** `http://host:port`: the endpoint to give the Web UI (`--ui-codec-endpoint`). */
  url: string;
  port: number;
  /** Stops listening, aborts the store reads in flight and closes every connection (bounded). */
  close(): Promise<void>;
}

/** Headers a browser may send to the endpoint: what the Web UI's codec client sets. */
export const allowedRequestHeaders = ['Content-Type', 'X-Namespace', 'Authorization', 'Authorization-Extras'];

/** The origins a Web UI at `uiUrl` is served from: its origin, and on loopback both names of it. */
export function webUiOrigins(uiUrl: string): string[] {
  const ui = new URL(uiUrl);
  const origins = [ui.origin];
  const twin = ui.hostname === '127.0.0.1' ? 'localhost' : ui.hostname === 'localhost' ? '127.0.0.1' : null;
  if (twin) {
    const other = new URL(ui.origin);
    other.hostname = twin;
    origins.push(other.origin);
  }
  return origins;
}

// ---- Reference payloads ---------------------------------------------------------------------

const referenceMessageType = 'temporal.api.sdk.v1.ExternalStorageReference';

export type ReferenceReading =
  | { kind: 'inline' }
  | { kind: 'reference'; driverName: string; claimData: Record<string, string> }
  | { kind: 'malformed'; problem: string };

/**
 * Whether a payload is an External Storage reference, and what it refers to. The SDK writes a
 * reference as encoding `json/protobuf`, message type `temporal.api.sdk.v1.ExternalStorageReference`
 * and data `{"driverName": ..., "claimData": {...}}` (proto3 JSON, which also allows the proto
 * field names driver_name and claim_data). Read here rather than with the SDK's
 * isReferencePayload/decodeReferencePayload: those are marked @internal, live in
 * @temporalio/common/lib/internal-non-workflow and are not exported from the package's index, so
 * any SDK release may move or change them; the wire format itself is Temporal's API, which every
 * SDK reads the same. test/integration/codec-server.test.ts holds this reader to references made
 * by the SDK itself.
 */
export function readReference(metadata: Record<string, Uint8Array>, data: Uint8Array): ReferenceReading {
  const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'));
  if (text(metadata[METADATA_ENCODING_KEY]) !== encodingTypes.METADATA_ENCODING_PROTOBUF_JSON) return { kind: 'inline' };
  if (text(metadata[METADATA_MESSAGE_TYPE_KEY]) !== referenceMessageType) return { kind: 'inline' };
  let message: unknown;
  try {
    message = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return { kind: 'malformed', problem: `its data is not JSON (${(err as Error).message})` };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { kind: 'malformed', problem: `its data is ${describeType(message)}, not an object` };
  const fields = message as Record<string, unknown>;
  const driverName = fields.driverName ?? fields.driver_name;
  const claimData = fields.claimData ?? fields.claim_data ?? {};
  if (typeof driverName !== 'string' || driverName === '') return { kind: 'malformed', problem: 'it names no driver (driverName)' };
  if (typeof claimData !== 'object' || claimData === null || Array.isArray(claimData) || Object.values(claimData).some((value) => typeof value !== 'string')) {
    return { kind: 'malformed', problem: 'its claimData is not a map of strings' };
  }
  return { kind: 'reference', driverName, claimData: { ...(claimData as Record<string, string>) } };
}

// ---- The request body -----------------------------------------------------------------------

/** Standard or URL-safe alphabet, padding optional: what proto3 JSON parsers accept for bytes. */
const base64Pattern = /^[A-Za-z0-9+/_-]*={0,2}$/;

function base64Problem(value: unknown): string | null {
  if (typeof value !== 'string') return `expected a base64 string, got ${describeType(value)}`;
  if (!base64Pattern.test(value) || value.length % 4 === 1 || (value.endsWith('=') && value.length % 4 !== 0)) {
    return `not base64 (${value.length > 40 ? `${value.slice(0, 37)}...` : JSON.stringify(value)})`;
  }
  return null;
}

/** The payloads of a request body, or what is wrong with it (one message naming the place). */
export function parsePayloadsBody(body: string): { payloads: JsonPayload[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { problem: `the body is not JSON (${(err as Error).message}); expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: `the body is ${describeType(parsed)}; expected an object {"payloads": [...]}` };
  }
  const payloads = (parsed as Record<string, unknown>).payloads;
  // proto3 JSON leaves an empty repeated field out: {} is zero payloads.
  if (payloads === undefined) return { payloads: [] };
  if (!Array.isArray(payloads)) return { problem: `"payloads" is ${describeType(payloads)}; expected a list of payloads` };
  for (const [index, payload] of payloads.entries()) {
    const at = `payloads[${index}]`;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { problem: `${at} is ${describeType(payload)}; expected an object with metadata and data` };
    const { metadata, data } = payload as Record<string, unknown>;
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) return { problem: `${at}.metadata is ${describeType(metadata)}; expected an object of base64 values` };
      for (const [name, value] of Object.entries(metadata)) {
        const problem = base64Problem(value);
        if (problem) return { problem: `${at}.metadata.${name}: ${problem}` };
      }
    }
    if (data !== undefined && data !== null) {
      const problem = base64Problem(data);
      if (problem) return { problem: `${at}.data: ${problem}` };
    }
  }
  return { payloads: payloads as JsonPayload[] };
}

function fromJson(payload: JsonPayload): { metadata: Record<string, Uint8Array>; data: Uint8Array } {
  const metadata: Record<string, Uint8Array> = {};
  for (const [name, value] of Object.entries(payload.metadata ?? {})) metadata[name] = Buffer.from(value, 'base64');
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload.metadata ?? {})) if (value) metadata[name] = Buffer.from(value).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array(0)).toString('base64') };
}

// ---- Notes in place of payloads ---------------------------------------------------------------

/** A readable JSON payload the UI shows in place of the one it asked for. */
function note(fields: Record<string, unknown>): JsonPayload {
  return {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from(encodingTypes.METADATA_ENCODING_JSON).toString('base64') },
    data: Buffer.from(JSON.stringify({ fleetview_codec: fields })).toString('base64'),
  };
}

/** How an operator reads what a large payload holds: the cluster's view, a page at a time. */
function howToRead(workflowId: string | null): string[] {
  const cluster = workflowId?.startsWith('cluster/') ? workflowId.slice('cluster/'.length) : null;
  const name = cluster ?? 'CLUSTER';
  return [`fleetview view ${name} --limit 50 --offset 0`, `fleetview view ${name} --node NODE`, `fleetview view ${name} --shard SHARD`];
}

function tooLargeNote(info: StoredPayloadInfo, bound: number): JsonPayload {
  return note({
    payload: 'stored by fleetview, too large to show here',
    key: info.key,
    size_bytes: info.size,
    bound_bytes: bound,
    encoding: info.metadata[METADATA_ENCODING_KEY] ?? null,
    workflow_id: info.workflowId,
    run_id: info.runId,
    stored_at: info.storedAt.toISOString(),
    read_it_with: howToRead(info.workflowId),
    or: 'raise FLEETVIEW_CODEC_MAX_PAYLOAD_BYTES of the codec server to see it whole here',
  });
}

function missingNote(key: string): JsonPayload {
  return note({
    payload: `stored payload ${key} is not in the store`,
    key,
    why: 'removed by the worker\'s sweep once no workflow history could reference it any more, or stored in another store or database than the codec server reads (FLEETVIEW_MONGODB_URI, FLEETVIEW_MONGODB_DATABASE)',
  });
}

// ---- The server -------------------------------------------------------------------------------

class RequestProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a too-large body is still read (and dropped) for, so the caller gets its 413 rather than a reset connection. */
const drainLimitBytes = 64 * 1024 * 1024;

/** Reads the body, at most `max` bytes; a longer one (announced or not) is a 413. */
function readBody(request: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new RequestProblem(413, `the request body is larger than ${max} bytes (FLEETVIEW_CODEC_MAX_REQUEST_BYTES)`);
    const announced = Number(request.headers['content-length']);
    if (Number.isFinite(announced) && announced > max + drainLimitBytes) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > max + drainLimitBytes) {
        reject(tooLarge());
        request.destroy();
      }
    });
    request.on('end', () => (size > max ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', reject);
  });
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const { driver, logger, maxPayloadBytes } = options;
  const anyOrigin = options.allowedOrigins.includes('*');
  const origins = new Set(options.allowedOrigins);
  const stopping = new AbortController();

  /** CORS headers for an allowed origin; null when the origin is not allowed. */
  function corsHeaders(origin: string): Record<string, string> | null {
    if (anyOrigin) return { 'Access-Control-Allow-Origin': '*' };
    if (!origins.has(origin)) return null;
    // The UI's includeCredentials option sends cookies: allowed for the listed origins only.
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  }

  function send(response: ServerResponse, status: number, body: string, headers: Record<string, string>, type = 'text/plain; charset=utf-8'): void {
    response.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store' });
    response.end(body);
  }

  async function decodeOne(payload: JsonPayload, signal: AbortSignal): Promise<{ payload: JsonPayload; outcome: string }> {
    const { metadata, data } = fromJson(payload);
    const reading = readReference(metadata, data);
    if (reading.kind === 'inline') return { payload, outcome: 'inline' };
    if (reading.kind === 'malformed') {
      return { payload: note({ payload: `an External Storage reference fleetview cannot read: ${reading.problem}` }), outcome: 'malformed' };
    }
    if (reading.driverName !== payloadDriverName) {
      return {
        payload: note({ payload: `stored by the External Storage driver ${JSON.stringify(reading.driverName)}, not by fleetview's (${payloadDriverName}): this codec server cannot read it`, driver: reading.driverName }),
        outcome: 'other-driver',
      };
    }
    const claim = new StorageDriverClaim(reading.claimData);
    const key = reading.claimData.key ?? '(no key)';
    try {
      // The head first (no chunk is read): a 30 MB observation is never loaded to be refused.
      const info = await driver.describe(claim, signal);
      if (!info) return { payload: missingNote(key), outcome: 'missing' };
      // The UI decodes and pretty-prints a payload whole in the page; tens of MB (a 2,000-node
      // cluster's observation is ~30 MB, ~40 MB in base64) stall or crash the tab, and every look
      // at that event would make this server read, gunzip and re-encode all of it. Above the
      // bound the UI gets a note: what it is, how large, and how to read it a page at a time.
      if (info.size > maxPayloadBytes) return { payload: tooLargeNote(info, maxPayloadBytes), outcome: 'too-large' };
      const [resolved] = await driver.retrieve({ abortSignal: signal }, [claim]);
      if (!resolved) throw new Error(`the store gave nothing back for stored payload ${key}`);
      return { payload: toJson(resolved), outcome: 'resolved' };
    } catch (err) {
      if (err instanceof StoredPayloadMissingError) return { payload: missingNote(key), outcome: 'missing' };
      if (signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      logger.warn('codec server: a stored payload could not be read', { key, error: message });
      return { payload: note({ payload: `stored payload ${key} could not be read from the store: ${message}`, key, retry: 'reload the page; the store may be slow or down (scripts/services.sh status)' }), outcome: 'store-error' };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = new URL(request.url ?? '/', 'http://codec.invalid').pathname;
    const origin = request.headers.origin;
    const cors = origin === undefined ? {} : corsHeaders(origin);
    const log = (status: number, extra: Record<string, unknown> = {}) =>
      logger.debug('codec server request', { method: request.method, path, status, ms: Date.now() - started, namespace: request.headers['x-namespace'], ...extra });

    if (request.method === 'OPTIONS') {
      request.resume();
      if (cors === null) {
        send(response, 403, `origin ${origin} may not call this codec server: add it to FLEETVIEW_CODEC_ALLOWED_ORIGINS\n`, {});
        return log(403);
      }
      const preflight: Record<string, string> = {
        ...cors,
        Allow: 'POST, OPTIONS',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': allowedRequestHeaders.join(', '),
        'Access-Control-Max-Age': '600',
      };
      // Chrome's Private Network Access: a UI on a public origin calling a codec server on loopback.
      if (request.headers['access-control-request-private-network'] === 'true') preflight['Access-Control-Allow-Private-Network'] = 'true';
      response.writeHead(204, preflight);
      response.end();
      return log(204);
    }

    const operation = path.endsWith('/decode') ? 'decode' : path.endsWith('/encode') ? 'encode' : null;
    if (cors === null) {
      // Browsers send Origin with every cross-origin call and with same-origin POSTs: this also
      // refuses pages that reach the server through a rebound DNS name.
      request.resume();
      send(response, 403, `origin ${origin} may not call this codec server: add it to FLEETVIEW_CODEC_ALLOWED_ORIGINS\n`, {});
      return log(403);
    }
    if (operation === null) {
      request.resume();
      send(response, 404, `not found: the codec endpoints are .../decode and .../encode (POST)\n`, cors);
      return log(404);
    }
    if (request.method !== 'POST') {
      request.resume();
      send(response, 405, `${request.method} is not allowed: POST a Payloads message as JSON to .../${operation}\n`, { ...cors, Allow: 'POST, OPTIONS' });
      return log(405);
    }

    const aborted = new AbortController();
    // The caller went away (page closed) or the server is stopping: the store reads stop too.
    response.on('close', () => aborted.abort());
    const signal = AbortSignal.any([aborted.signal, stopping.signal]);
    try {
      const parsed = parsePayloadsBody(await readBody(request, options.maxRequestBytes));
      if ('problem' in parsed) throw new RequestProblem(400, `bad request to /${operation}: ${parsed.problem}`);
      let payloads = parsed.payloads;
      const outcomes: Record<string, number> = {};
      if (operation === 'decode') {
        const decoded: JsonPayload[] = [];
        for (const payload of payloads) {
          const { payload: answer, outcome } = await decodeOne(payload, signal);
          decoded.push(answer);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        payloads = decoded;
      }
      // /encode: fleetview has no payload codec; the payloads go back as they came.
      send(response, 200, JSON.stringify({ payloads }), cors, 'application/json');
      log(200, { payloads: payloads.length, ...outcomes });
    } catch (err) {
      if (err instanceof RequestProblem) {
        if (!request.complete) response.setHeader('Connection', 'close');
        request.resume();
        send(response, err.status, `${err.message}\n`, cors);
        return log(err.status, { problem: err.message });
      }
      if (signal.aborted) {
        if (!response.headersSent && !response.destroyed) send(response, 503, 'the codec server is stopping\n', { ...cors, Connection: 'close' });
        return log(stopping.signal.aborted ? 503 : 499, { problem: 'the caller went away, or the server stopped' });
      }
      const message = err instanceof Error ? err.message : String(err);
      logger.error('codec server: request failed', { path, error: message });
      if (!response.headersSent) send(response, 500, `codec server error: ${message}\n`, cors);
      else response.destroy();
      log(500);
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      logger.error('codec server: request failed', { error: err instanceof Error ? err.message : String(err) });
      response.destroy();
    });
  });
  // Bounds on slow or idle callers: headers within 10 s, a whole request within 60 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;

  const { url, port } = await listen(server, options.host, options.port, 'the codec server', 'FLEETVIEW_CODEC_PORT');
  server.on('error', (err) => logger.error('codec server: server error', { error: err.message }));

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      if (!closing) {
        // Requests in flight end as their store reads abort; whatever still holds on goes in 2 s.
        stopping.abort();
        closing = closeServer(server);
      }
      return closing;
    },
  };
}
