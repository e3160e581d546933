// The Web UI's codec endpoint (`fleetview codec-server`) against the real store and the real
// Temporal server: workflow inputs the SDK kept in the store are read from history as the Web UI's
// own HTTP API serves it to the browser, POSTed to /decode as the UI does, and come back whole;
// inline payloads pass; a payload over the bound, or gone from the store, is a readable note.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import type { CodecServer, JsonPayload } from '../../src/adapters/codec-server.js';
import { createLogger } from '../../src/adapters/logger.js';
import { payloadCollections } from '../../src/adapters/payload-store.js';
import { startConfiguredCodecServer } from '../../src/operations/index.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { fleetviewBin } from '../helpers/cli.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { freePort } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const bound = 512 * 1024;
const maxRequest = 64 * 1024;
const config = testConfig({
  FLEETVIEW_CODEC_PORT: '0',
  FLEETVIEW_CODEC_MAX_PAYLOAD_BYTES: String(bound),
  FLEETVIEW_CODEC_MAX_REQUEST_BYTES: String(maxRequest),
  FLEETVIEW_LOG_LEVEL: 'debug',
});
const namespace = config.temporal.namespace;
const uiOrigin = new URL(config.temporal.uiUrl).origin;
const token = `Bearer codec-test-token-${uniqueName('t')}`;

let mongo: MongoClient;
let db: Db;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let server: CodecServer;
const logLines: string[] = [];
const started: WorkflowHandle[] = [];

before(async () => {
  mongo = await new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 10_000 }).connect();
  db = mongo.db(config.mongodb.database);
  temporal = await connectClient(config);
  server = await startConfiguredCodecServer(config, () => db, createLogger('debug', { test: true }, (line) => void logLines.push(line)));
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the codec server': () => server?.close(),
      'terminating the test workflows': () => Promise.all(started.map((handle) => terminateQuietly(handle))),
      'dropping the test database': () => db?.dropDatabase(),
      'closing the store client': () => mongo?.close(),
      'closing the Temporal client': () => temporal?.close(),
    }),
  cleanupBound,
);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP exchange on a connection of its own (nothing kept alive), bounded. */
function call(method: string, path: string, headers: Record<string, string>, body?: string, base = server.url): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent: false, timeout: 15_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What the Web UI sends: JSON, its namespace, its origin (and here a token, to look for in the logs). */
const uiHeaders = { 'Content-Type': 'application/json', 'X-Namespace': namespace, Origin: uiOrigin, Authorization: token };

async function decode(payloads: unknown[], base?: string): Promise<JsonPayload[]> {
  const answer = await call('POST', '/decode', uiHeaders, JSON.stringify({ payloads }), base);
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.headers['access-control-allow-origin'], uiOrigin);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  return (JSON.parse(answer.body) as { payloads: JsonPayload[] }).payloads;
}

const text = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('utf8');

/** A payload's data as JSON, and its encoding. */
function read(payload: JsonPayload | undefined): { encoding: string; value: unknown } {
  assert.ok(payload, 'a payload');
  return { encoding: text(payload.metadata?.encoding), value: JSON.parse(text(payload.data)) };
}

/**
 * Starts a workflow (no worker: it stays Running) with `value` as its input through fleetview's
 * data converter, then reads its first event from the Web UI's HTTP API: the input payloads as
 * the browser gets them.
 */
async function inputAsTheUiSeesIt(workflowId: string, ...args: unknown[]): Promise<JsonPayload[]> {
  const handle = await temporal.client.workflow.start('codecServerTestInput', { taskQueue: uniqueName('nobody'), workflowId, args });
  started.push(handle);
  const url = `${config.temporal.uiUrl}/api/v1/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/history?execution.runId=${handle.firstExecutionRunId}&maximumPageSize=1`;
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  assert.equal(response.status, 200, `the Web UI's history of ${workflowId} (${url}): ${await response.clone().text()}`);
  const history = (await response.json()) as { history: { events: Array<{ workflowExecutionStartedEventAttributes?: { input?: { payloads: JsonPayload[] } } }> } };
  const payloads = history.history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  assert.ok(payloads, `no input in the first event of ${workflowId}`);
  return payloads;
}

const isReference = (payload: JsonPayload | undefined) => text(payload?.metadata?.messageType) === 'temporal.api.sdk.v1.ExternalStorageReference';

/** A JSON value of about `bytes` bytes that does not compress to nothing. */
function membersOf(bytes: number): { members: Array<{ address: string; node_id: string }> } {
  const count = Math.ceil(bytes / 60);
  return { members: Array.from({ length: count }, (_, i) => ({ address: `http://n${i}.fleet.example:7070/${(i * 7919) % 100_003}`, node_id: `n${i}` })) };
}

describe('the codec server', () => {
  it('gives the Web UI back the original of a payload the SDK kept in the store', async () => {
    const value = membersOf(200 * 1024);
    assert.ok(JSON.stringify(value).length > config.temporal.payloadOffloadBytes, 'the input is over the offload threshold');
    const [reference] = await inputAsTheUiSeesIt(uniqueName('codec-roundtrip'), value);
    assert.ok(isReference(reference), `history holds a reference: ${JSON.stringify(reference).slice(0, 300)}`);
    assert.equal(await db.collection(payloadCollections.heads).countDocuments({}), 1, 'the payload is in the store');

    const [decoded] = await decode([reference]);
    const { encoding, value: back } = read(decoded);
    assert.equal(encoding, 'json/plain');
    assert.deepEqual(back, value);
    assert.equal(decoded?.externalPayloads, undefined, 'the answer is the payload itself, not a reference');

    // The request was logged, the token it carried was not.
    assert.ok(logLines.some((line) => line.includes('"codec server request"') && line.includes('"resolved":1')), logLines.join(''));
    assert.ok(!logLines.some((line) => line.includes(token) || line.includes('codec-test-token')), 'no token in the logs');
  });

  it('passes inline payloads through unchanged, in order beside a resolved one, and /encode returns what it gets', async () => {
    const small = { cluster_id: 'rs0', nodes: ['http://127.0.0.1:7070/c/rs0/n/n1'] };
    const large = membersOf(150 * 1024);
    const [inline, reference] = await inputAsTheUiSeesIt(uniqueName('codec-mixed'), small, large);
    assert.ok(inline && !isReference(inline) && isReference(reference));

    const decoded = await decode([inline, reference, inline]);
    assert.equal(decoded.length, 3);
    assert.deepEqual(decoded[0], inline);
    assert.deepEqual(read(decoded[1]).value, large);
    assert.deepEqual(decoded[2], inline);

    const encoded = await call('POST', '/encode', uiHeaders, JSON.stringify({ payloads: [inline] }));
    assert.equal(encoded.status, 200, encoded.body);
    assert.deepEqual(JSON.parse(encoded.body), { payloads: [inline] });
    // Only the last path segment counts (the endpoint may sit under any prefix); {} is no payloads.
    const prefixed = await call('POST', `/${namespace}/decode`, uiHeaders, '{}');
    assert.deepEqual([prefixed.status, JSON.parse(prefixed.body)], [200, { payloads: [] }]);
  });

  it('answers a payload over the bound with a note of its size, key and how to read it', async () => {
    const clusterId = uniqueName('codec-big');
    const value = membersOf(bound + 200 * 1024);
    const [reference] = await inputAsTheUiSeesIt(`cluster/${clusterId}`, value);
    assert.ok(isReference(reference));
    const head = await db.collection(payloadCollections.heads).findOne({ workflow_id: `cluster/${clusterId}` });
    assert.ok(head, 'stored');

    const [decoded] = await decode([reference]);
    const { encoding, value: shown } = read(decoded);
    assert.equal(encoding, 'json/plain');
    const note = (shown as { fleetview_codec: Record<string, unknown> }).fleetview_codec;
    assert.equal(note.key, head._id);
    assert.equal(note.size_bytes, head.size);
    assert.ok((note.size_bytes as number) > bound);
    assert.equal(note.bound_bytes, bound);
    assert.equal(note.workflow_id, `cluster/${clusterId}`);
    assert.ok((note.read_it_with as string[]).includes(`fleetview view ${clusterId} --node NODE`), JSON.stringify(note));
    assert.ok(decoded!.data!.length < 4096, 'the note is small');
  });

  it('names the key of a payload no longer in the store, and still resolves the rest of the batch', async () => {
    const [gone] = await inputAsTheUiSeesIt(uniqueName('codec-gone'), membersOf(150 * 1024));
    const keptValue = membersOf(160 * 1024);
    const [kept] = await inputAsTheUiSeesIt(uniqueName('codec-kept'), keptValue);
    const key = (JSON.parse(text(gone!.data)) as { claimData: { key: string } }).claimData.key;
    await db.collection(payloadCollections.heads).deleteOne({ _id: key as never });
    await db.collection(payloadCollections.chunks).deleteMany({ key });

    const [missing, resolved] = await decode([gone, kept]);
    const { encoding, value } = read(missing);
    assert.equal(encoding, 'json/plain');
    const note = (value as { fleetview_codec: Record<string, unknown> }).fleetview_codec;
    assert.equal(note.key, key);
    assert.match(String(note.payload), new RegExp(`stored payload ${key} is not in the store`));
    assert.deepEqual(read(resolved).value, keptValue);
  });

  it('answers the CORS preflight of the Web UI, on both loopback names, and refuses other origins', async () => {
    const preflight = (origin: string) =>
      call('OPTIONS', '/decode', { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' });
    const twin = new URL(uiOrigin);
    twin.hostname = twin.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    for (const origin of [uiOrigin, twin.origin]) {
      const answer = await preflight(origin);
      assert.equal(answer.status, 204, `${origin}: ${answer.body}`);
      assert.equal(answer.headers['access-control-allow-origin'], origin);
      assert.match(String(answer.headers['access-control-allow-methods']), /\bPOST\b/);
      const allowed = String(answer.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/);
      for (const header of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowed.includes(header), `${header} in ${allowed.join(', ')}`);
      assert.equal(answer.headers['access-control-allow-credentials'], 'true');
    }
    const evil = await preflight('http://evil.example');
    assert.equal(evil.status, 403);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    assert.match(evil.body, /FLEETVIEW_CODEC_ALLOWED_ORIGINS/);
    const post = await call('POST', '/decode', { ...uiHeaders, Origin: 'http://evil.example' }, '{"payloads": []}');
    assert.equal(post.status, 403);
  });

  it('refuses bad requests with 400 (or 404, 405, 413) naming what is wrong', async () => {
    const bad = async (body: string, pattern: RegExp, status = 400, path = '/decode', method = 'POST') => {
      const answer = await call(method, path, uiHeaders, body);
      assert.equal(answer.status, status, `${method} ${path} ${body.slice(0, 60)}: ${answer.body}`);
      assert.match(answer.body, pattern);
      assert.equal(answer.headers['access-control-allow-origin'], uiOrigin, 'the UI may read why');
    };
    await bad('{"payloads": [', /the body is not JSON/);
    await bad('[1, 2]', /the body is a list; expected an object \{"payloads": \[\.\.\.\]\}/);
    await bad('{"payloads": 3}', /"payloads" is a number; expected a list/);
    await bad('{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "not base64!"}]}', /payloads\[0\]\.data: not base64/);
    await bad('{"payloads": [{"metadata": {"encoding": 7}}]}', /payloads\[0\]\.metadata\.encoding: expected a base64 string, got a number/);
    await bad('{"payloads": [null]}', /payloads\[0\] is null/);
    await bad(JSON.stringify({ payloads: [{ data: 'A'.repeat(maxRequest) }] }), /larger than 65536 bytes \(FLEETVIEW_CODEC_MAX_REQUEST_BYTES\)/, 413);
    await bad('{}', /not found: the codec endpoints are/, 404, '/payloads');
    await bad('', /GET is not allowed/, 405, '/decode', 'GET');
  });
});

describe('fleetview codec-server', () => {
  it('serves until SIGTERM, then stops cleanly (exit 0)', async () => {
    const port = await freePort();
    const env = { ...process.env, ...configEnv(config), FLEETVIEW_CODEC_PORT: String(port), FLEETVIEW_LOG_LEVEL: 'debug' };
    const child = spawn(process.execPath, [fleetviewBin, 'codec-server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => output.includes('codec server listening') || child.exitCode !== null, 30_000, 'the codec server did not say it listens');
      assert.equal(child.exitCode, null, output);
      const [reference] = await inputAsTheUiSeesIt(uniqueName('codec-cli'), membersOf(140 * 1024));
      const [decoded] = await decode([reference], `http://127.0.0.1:${port}`);
      assert.equal(read(decoded).encoding, 'json/plain');
      assert.ok(!output.includes('codec-test-token'), 'no token in its output');
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref())]);
      assert.equal(code, 0, `exit ${code}: ${output}`);
      assert.match(output, /codec server stopping/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
