/**
 * Small purpose-built servers for the bad cases: each listens on 127.0.0.1 port 0 and closes
 * every connection (hung ones too) on close.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  /** Requests received, in order: `GET /path`. */
  requests: string[];
  /** Headers of the last request. */
  lastHeaders(): http.IncomingHttpHeaders;
  /** TCP connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

export async function startServer(handler: RequestListener, tls?: https.ServerOptions): Promise<TestServer> {
  const requests: string[] = [];
  let headers: http.IncomingHttpHeaders = {};
  let connections = 0;
  const listener: RequestListener = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    headers = req.headers;
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  server.on(tls ? 'secureConnection' : 'connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    lastHeaders: () => headers,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Bodies of a healthy agent of a one-shard cluster. */
export function healthyAgentBodies(clusterId: string, nodeId = 'node-1:27017'): Record<string, unknown> {
  return {
    '/api/unstable/info/agent': { version: { checkout: 'abc1234', number: '0.3.1', taint: 'not tainted' } },
    '/api/unstable/info/datastore': { cluster_id: clusterId, node_id: nodeId, kind: 'mongodb', version: '6.0.5', cluster_display_name: null },
    '/api/unstable/shards': { shards: [{ id: clusterId, role: 'primary', commit_offset: { unit: 'seconds', value: 10 }, lag: null }] },
  };
}

/** An agent answering `bodies` by path (healthy by default), with per-path overrides. */
export function agentHandler(
  clusterId: string,
  overrides: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {},
): RequestListener {
  const bodies = healthyAgentBodies(clusterId);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const override = overrides[path];
    if (override) return override(req, res);
    const body = bodies[path];
    if (body === undefined) return sendJson(res, 404, { error: `no route ${path}` });
    sendJson(res, 200, body);
  };
}
