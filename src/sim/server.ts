/**
 * The sim's HTTP server: one node:http server for every simulated node, routed by parsing the
 * path (`/c/<cluster>/n/<node>/...`), answering from each node's cached bodies. Faults are
 * played here: a down agent closes the connection without a word, a hung one never answers, a
 * slow one answers late, a broken one answers garbage or a body too big to accept, resets the
 * connection or fails with a 500.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimFleet, SimNode, SimRequestCounts } from './fleet.js';
import { handleAdmin } from './admin-api.js';
import { discoveryPage, discoveryRecords, httpSdGroups } from './discovery-api.js';
import type { SimDiscoveryRecord } from './discovery-api.js';
import { metricsContentType, nodeMetrics } from './metrics.js';

export interface SimServerOptions {
  /** Records per page of `POST /discovery`. */
  pageSize: number;
  /** Body size of the `oversize` agent mode, in bytes. */
  oversizeBytes: number;
}

export interface SimServerStats {
  /** Every request received, all routes. */
  requests: number;
  /** Agent API and metrics requests to nodes. */
  nodeRequests: number;
}

export interface SimServer {
  readonly server: http.Server;
  /** The URL clients use, known once listening; node URLs and discovery bodies derive from it. */
  setBaseUrl(url: string): void;
  stats(): SimServerStats;
  /** Stops listening, drops every connection (hung ones too) and cancels pending slow answers. */
  close(): Promise<void>;
}

type Endpoint = keyof SimRequestCounts;

const endpointsByPath: Record<string, Endpoint> = {
  'api/unstable/info/agent': 'agent_info',
  'api/unstable/info/datastore': 'datastore_info',
  'api/unstable/shards': 'shards',
  metrics: 'metrics',
};

const maxAdminBodyBytes = 1024 * 1024;
const jsonType = 'application/json';
const garbageBody = Buffer.from('{"version": {"checkout": "f1ee7e0", "number": 0.3.1 <!-- truncated');
const fillerChunk = Buffer.alloc(64 * 1024, 'a');

export function createSimServer(fleet: SimFleet, options: SimServerOptions): SimServer {
  let baseUrl = 'http://127.0.0.1';
  const stats: SimServerStats = { requests: 0, nodeRequests: 0 };
  const slowTimers = new Set<NodeJS.Timeout>();
  let discoveryCache: { version: number; records: SimDiscoveryRecord[]; all: Buffer; httpSd: Buffer } | null = null;

  function discoveryBodies(): NonNullable<typeof discoveryCache> {
    if (discoveryCache?.version !== fleet.membershipVersion) {
      const records = discoveryRecords(fleet, baseUrl);
      discoveryCache = {
        version: fleet.membershipVersion,
        records,
        all: Buffer.from(JSON.stringify({ clusters: records, cursor: null })),
        httpSd: Buffer.from(JSON.stringify(httpSdGroups(fleet, baseUrl))),
      };
    }
    return discoveryCache;
  }

  function answerNode(node: SimNode, endpoint: Endpoint, res: ServerResponse): void {
    if (endpoint === 'metrics') return send(res, 200, Buffer.from(nodeMetrics(fleet, node)), metricsContentType);
    const bodies = fleet.bodiesOf(node);
    if (endpoint === 'agent_info') return send(res, 200, bodies.agentInfo);
    if (node.state.datastore === 'down') return send(res, 503, bodies.datastoreError);
    if (endpoint === 'datastore_info') return send(res, 200, bodies.datastoreInfo);
    if (node.state.shards === 'down') return send(res, 500, bodies.shardsError);
    return send(res, 200, bodies.shards);
  }

  function serveNode(req: IncomingMessage, res: ServerResponse, path: string): void {
    // ['', 'c', cluster, 'n', node, ...endpoint]
    const parts = path.split('/');
    const clusterId = parts[2];
    const nodeName = parts[4];
    if (parts[3] !== 'n' || clusterId === undefined || nodeName === undefined) return sendError(res, 404, `no route ${path}`);
    const node = fleet.findNode(clusterId, nodeName);
    // A removed (or never existing) node is an agent that is gone: nobody answers.
    if (!node) return void req.socket.destroy();
    const endpoint = endpointsByPath[parts.slice(5).join('/')];
    if (endpoint === undefined) return sendError(res, 404, `no Agent API route ${path}`);
    if (req.method !== 'GET') return sendError(res, 405, `${req.method} not allowed on ${path}`);
    stats.nodeRequests++;
    node.requests[endpoint]++;
    const isApiCall = endpoint !== 'metrics';
    switch (node.state.agent) {
      case 'down':
        return void req.socket.destroy();
      case 'hang':
        return; // closed by the client's timeout, or by close()
      case 'slow': {
        const timer = setTimeout(() => {
          slowTimers.delete(timer);
          if (!res.destroyed) answerNode(node, endpoint, res);
        }, node.state.slow_ms);
        slowTimers.add(timer);
        return;
      }
      case 'garbage':
        return isApiCall ? send(res, 200, garbageBody) : answerNode(node, endpoint, res);
      case 'oversize':
        return isApiCall ? streamOversize(res, options.oversizeBytes) : answerNode(node, endpoint, res);
      case 'reset':
        // A TCP RST once the request is in, as from an agent that crashed mid-request.
        return isApiCall ? void req.socket.resetAndDestroy() : answerNode(node, endpoint, res);
      case 'error':
        return isApiCall ? send(res, 500, agentErrorBody(node)) : answerNode(node, endpoint, res);
      case 'up':
        return answerNode(node, endpoint, res);
    }
  }

  /** A failing discovery endpoint (POST /admin/discovery): 500 with an error body, the request drained first. */
  function failDiscovery(req: IncomingMessage, res: ServerResponse): boolean {
    if (!fleet.takeDiscoveryFailure()) return false;
    req.resume();
    sendError(res, 500, 'discovery backend unavailable (simulated)');
    return true;
  }

  function serveDiscovery(req: IncomingMessage, res: ServerResponse): void {
    if (failDiscovery(req, res)) return;
    if (req.method === 'GET') return send(res, 200, discoveryBodies().all);
    if (req.method !== 'POST') return sendError(res, 405, `${req.method} not allowed on /discovery`);
    readJson(req, (error, body) => {
      if (error) return sendError(res, 400, error);
      const cursor = (body as { cursor?: unknown } | undefined)?.cursor ?? null;
      if (cursor !== null && typeof cursor !== 'string') return sendError(res, 400, 'cursor must be a string or null');
      const page = discoveryPage(discoveryBodies().records, cursor, options.pageSize);
      if ('error' in page) return sendError(res, 400, page.error);
      send(res, 200, Buffer.from(JSON.stringify(page)));
    });
  }

  function serveAdmin(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    const segments = path.split('/').slice(2).filter((segment) => segment !== '');
    readJson(req, (error, body) => {
      if (error) return sendError(res, 400, error);
      const answer = handleAdmin(fleet, baseUrl, req.method ?? 'GET', segments, new URLSearchParams(query), body);
      send(res, answer.status, Buffer.from(JSON.stringify(answer.body)));
    });
  }

  /** What the sim costs, for benchmarks: request counts and this process's CPU time and memory. */
  function processStats(): Record<string, unknown> {
    const cpu = process.cpuUsage();
    return {
      requests: stats.requests,
      node_requests: stats.nodeRequests,
      clusters: fleet.clusters.size,
      nodes: fleet.nodeCount(),
      cpu_user_us: cpu.user,
      cpu_system_us: cpu.system,
      rss_bytes: process.memoryUsage.rss(),
      uptime_s: process.uptime(),
    };
  }

  const server = http.createServer((req, res) => {
    stats.requests++;
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (path.startsWith('/c/')) return serveNode(req, res, path);
    if (path === '/discovery') return serveDiscovery(req, res);
    if (path === '/http_sd') {
      if (failDiscovery(req, res)) return;
      return req.method === 'GET' ? send(res, 200, discoveryBodies().httpSd) : sendError(res, 405, 'use GET');
    }
    if (path === '/admin/stats' && req.method === 'GET') return send(res, 200, Buffer.from(JSON.stringify(processStats())));
    if (path.startsWith('/admin/')) return serveAdmin(req, res, path, queryAt === -1 ? '' : url.slice(queryAt + 1));
    if (path === '/') {
      return send(res, 200, Buffer.from(JSON.stringify({ clusters: fleet.clusters.size, nodes: fleet.nodeCount(), discovery: `${baseUrl}/discovery`, http_sd: `${baseUrl}/http_sd` })));
    }
    sendError(res, 404, `no route ${path}`);
  });

  return {
    server,
    setBaseUrl(url) {
      baseUrl = url;
      discoveryCache = null;
    },
    stats: () => ({ ...stats }),
    close() {
      for (const timer of slowTimers) clearTimeout(timer);
      slowTimers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, body: Buffer, contentType = jsonType): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': body.length });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  send(res, status, Buffer.from(JSON.stringify({ error: message, layers: [message], trace: null, variant: null })));
}

/** The `error` agent mode's answer: what a Replicante agent sends when its own handler fails. */
function agentErrorBody(node: SimNode): Buffer {
  const message = `agent internal error on ${node.nodeId}`;
  return Buffer.from(JSON.stringify({ error: message, layers: [message, 'request handler panicked'], trace: null, variant: 'InternalError' }));
}

/** A valid JSON body of `total` bytes, chunked without Content-Length, written as the client reads. */
function streamOversize(res: ServerResponse, total: number): void {
  const head = Buffer.from('{"padding":"');
  const tail = Buffer.from('"}');
  res.writeHead(200, { 'content-type': jsonType });
  let sent = head.length;
  res.write(head);
  const pump = (): void => {
    while (!res.destroyed) {
      const remaining = total - sent - tail.length;
      if (remaining <= 0) return void res.end(tail);
      const chunk = remaining >= fillerChunk.length ? fillerChunk : fillerChunk.subarray(0, remaining);
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  pump();
}

function readJson(req: IncomingMessage, done: (error: string | null, body: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxAdminBodyBytes && !failed) {
      failed = true;
      done(`body larger than ${maxAdminBodyBytes} bytes`, undefined);
    }
    if (!failed) chunks.push(chunk);
  });
  req.on('end', () => {
    if (failed) return;
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done('body is not valid JSON', undefined);
    }
  });
}
