/**
 * The agent client against real HTTP servers: the sim for the classifications and the admin
 * API, small purpose-built servers for every kind of bad answer.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { agentTimeoutHeader, createAgentClient } from '../../src/adapters/agent-client.js';
import type { AgentClient } from '../../src/adapters/agent-client.js';
import { startSim } from '../../src/sim/index.js';
import type { SimHandle } from '../../src/sim/index.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { agentHandler, healthyAgentBodies, sendJson, startServer } from './helpers/http-servers.js';
import type { TestServer } from './helpers/http-servers.js';

const timeoutMs = 300;
const maxResponseBytes = 1024 * 1024;

let sim: SimHandle;
let client: AgentClient;

before(async () => {
  sim = await startSim({ clusters: 3, nodes: 3, partitions: 4 });
  client = createAgentClient({ timeoutMs, maxResponseBytes, headers: { Authorization: 'Bearer test-token' } });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the agent client': () => client.close(),
      'stopping the sim': () => sim.close(),
    }),
  cleanupBound,
);

async function setState(cluster: string, node: string, state: Record<string, unknown>): Promise<void> {
  await admin('POST', `/admin/clusters/${cluster}/nodes/${node}/state`, state);
}

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const answer = (await response.json()) as Record<string, unknown>;
  assert.ok(response.ok, `admin ${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Runs `check` against a purpose-built server and closes it. */
async function withServer(handler: http.RequestListener, check: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer(handler);
  try {
    await check(server);
  } finally {
    await server.close();
  }
}

describe('healthy nodes of the sim', () => {
  test('a replica set member: UP with agent info, datastore info and its own shard role', async () => {
    const primary = await client.observe(`${sim.nodeUrl('mongo-0', 'n1')}/`, 'mongo-0');
    assert.deepEqual(primary, {
      address: sim.nodeUrl('mongo-0', 'n1'),
      status: { code: 'UP' },
      agent: { version: { checkout: 'f1ee7e0', number: '0.3.1', taint: 'not tainted' } },
      datastore: { cluster_id: 'mongo-0', node_id: 'mongo-0-n1:27017', kind: 'mongodb', version: '6.0.5', cluster_display_name: 'Mongo replica set 0' },
      shards: [{ id: 'mongo-0', role: 'primary', commit_offset: { unit: 'seconds', value: 1_732_480_000 }, lag: null }],
      shards_error: null,
    });
    const secondary = await client.observe(sim.nodeUrl('mongo-0', 'n2'), 'mongo-0');
    assert.deepEqual(secondary.shards, [{ id: 'mongo-0', role: 'secondary', commit_offset: { unit: 'seconds', value: 1_732_480_000 }, lag: { unit: 'seconds', value: 0 } }]);
  });

  test('every shard of a kafka-like cluster has exactly one leader across the brokers, custom offset units kept', async () => {
    const observations = await Promise.all(['n1', 'n2', 'n3'].map((node) => client.observe(sim.nodeUrl('kafka-1', node), 'kafka-1')));
    const leaders = new Map<string, number>();
    for (const observation of observations) {
      assert.equal(observation.status.code, 'UP');
      for (const shard of observation.shards ?? []) {
        assert.match(shard.id, /^topic-\d+$/);
        assert.deepEqual(shard.commit_offset?.unit, { unit: 'offset' });
        if (shard.role === 'primary') leaders.set(shard.id, (leaders.get(shard.id) ?? 0) + 1);
      }
    }
    assert.deepEqual([...leaders.keys()].sort(), ['topic-0', 'topic-1', 'topic-2', 'topic-3']);
    assert.ok([...leaders.values()].every((count) => count === 1));
  });

  test('a zookeeper-like ensemble: one leader, the shard named after the cluster', async () => {
    const observations = await Promise.all(['n1', 'n2', 'n3'].map((node) => client.observe(sim.nodeUrl('zk-2', node), 'zk-2')));
    const roles = observations.map((o) => o.shards?.[0]?.role);
    assert.deepEqual(roles, ['primary', 'secondary', 'secondary']);
    assert.equal(observations[0]?.shards?.[0]?.id, 'zk-2');
    assert.deepEqual(observations[0]?.shards?.[0]?.commit_offset?.unit, { unit: 'zxid' });
  });
});

describe('classification of simulated faults', () => {
  test('agent down (connection closed without an answer): AGENT_DOWN, datastore and shards not called', async () => {
    const node = sim.fleet.node('mongo-0', 'n3');
    await setState('mongo-0', 'n3', { agent: 'down' });
    try {
      const before = { ...node.requests };
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.equal(observation.status.code, 'AGENT_DOWN');
      assert.match(observation.status.reason ?? '', /^agent info: connection reset without a response/);
      assert.equal(observation.agent, null);
      assert.equal(observation.datastore, null);
      assert.equal(observation.shards, null);
      // Earlier calls left a kept-alive connection to the sim: a connection closed unanswered
      // there may be one the server had closed meanwhile, so the call went once more on a new one.
      assert.ok([1, 2].includes(node.requests.agent_info - before.agent_info), `agent info calls: ${node.requests.agent_info - before.agent_info}`);
      assert.equal(node.requests.datastore_info, before.datastore_info);
      assert.equal(node.requests.shards, before.shards);
    } finally {
      await setState('mongo-0', 'n3', { agent: 'up' });
    }
  });

  test('agent hangs: AGENT_DOWN with a timeout reason after the configured budget', async () => {
    await setState('mongo-0', 'n3', { agent: 'hang' });
    try {
      const started = Date.now();
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: `agent info: timeout after ${timeoutMs} ms` });
      assert.ok(Date.now() - started < timeoutMs + 1500);
    } finally {
      await setState('mongo-0', 'n3', { agent: 'up' });
    }
  });

  test('agent slow: over the budget is AGENT_DOWN, under it is UP', async () => {
    await setState('mongo-0', 'n3', { agent: 'slow', slow_ms: timeoutMs + 400 });
    try {
      const late = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(late.status, { code: 'AGENT_DOWN', reason: `agent info: timeout after ${timeoutMs} ms` });
      await setState('mongo-0', 'n3', { slow_ms: 20 });
      const inTime = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.equal(inTime.status.code, 'UP');
    } finally {
      await setState('mongo-0', 'n3', { agent: 'up' });
    }
  });

  test('agent answers garbage: AGENT_DOWN naming a body that is not JSON', async () => {
    await setState('mongo-0', 'n3', { agent: 'garbage' });
    try {
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.equal(observation.status.code, 'AGENT_DOWN');
      assert.match(observation.status.reason ?? '', /^agent info: HTTP 200 body is not JSON \(application\/json, \d+ bytes\)$/);
    } finally {
      await setState('mongo-0', 'n3', { agent: 'up' });
    }
  });

  test('agent answers a 10 MB body: AGENT_DOWN naming the size cap', async () => {
    await setState('mongo-0', 'n3', { agent: 'oversize' });
    try {
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: `agent info: response larger than ${maxResponseBytes} bytes` });
    } finally {
      await setState('mongo-0', 'n3', { agent: 'up' });
    }
  });

  test('datastore down: NODE_DOWN naming the root cause of the 503 Replicante error body, agent info kept', async () => {
    await setState('mongo-0', 'n3', { datastore: 'down' });
    try {
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(observation.status, { code: 'NODE_DOWN', reason: "datastore info: HTTP 503: datastore operation 'buildInfo' failed: Connection refused (os error 111)" });
      assert.equal(observation.agent?.version.number, '0.3.1');
      assert.equal(observation.datastore, null);
      assert.equal(observation.shards, null);
      assert.equal(observation.shards_error, null);
    } finally {
      await setState('mongo-0', 'n3', { datastore: 'up' });
    }
  });

  test('datastore reports another cluster: NODE_DOWN saying which ids differ', async () => {
    await setState('mongo-0', 'n3', { cluster_id: 'rs-other' });
    try {
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(observation.status, { code: 'NODE_DOWN', reason: 'datastore reports cluster_id "rs-other" but discovery says "mongo-0"' });
      assert.equal(observation.datastore, null);
      assert.equal(observation.shards, null);
    } finally {
      await setState('mongo-0', 'n3', { cluster_id: 'mongo-0' });
    }
    const listedElsewhere = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'kafka-1');
    assert.deepEqual(listedElsewhere.status, { code: 'NODE_DOWN', reason: 'datastore reports cluster_id "mongo-0" but discovery says "kafka-1"' });
  });

  test('shards call fails on a healthy node: UP, shards null, shards_error set', async () => {
    await setState('mongo-0', 'n3', { shards: 'down' });
    try {
      const observation = await client.observe(sim.nodeUrl('mongo-0', 'n3'), 'mongo-0');
      assert.deepEqual(observation.status, { code: 'UP' });
      assert.equal(observation.datastore?.node_id, 'mongo-0-n3:27017');
      assert.equal(observation.shards, null);
      assert.equal(observation.shards_error, "shards: HTTP 500: datastore operation 'replSetGetStatus' failed: Connection refused (os error 111)");
    } finally {
      await setState('mongo-0', 'n3', { shards: 'up' });
    }
  });

  test('nothing listens: AGENT_DOWN, connection refused', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const observation = await client.observe(`http://127.0.0.1:${port}`, 'mongo-0');
    assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: connection refused' });
  });

  test('an address that is not a URL: AGENT_DOWN, no throw', async () => {
    const observation = await client.observe('mongo-1:37017', 'mongo-0');
    assert.equal(observation.status.code, 'AGENT_DOWN');
    assert.match(observation.status.reason ?? '', /agent address/);
  });
});

describe('admin changes are seen by the next observation', () => {
  test('failover, versions, added and removed nodes, each in the change log with its time', async () => {
    const startedAt = Date.now();
    const since = sim.fleet.changes.length;
    await admin('POST', '/admin/clusters/mongo-0/failover', { to: 'n2' });
    const [n1, n2] = await Promise.all(['n1', 'n2'].map((node) => client.observe(sim.nodeUrl('mongo-0', node), 'mongo-0')));
    assert.equal(n1?.shards?.[0]?.role, 'secondary');
    assert.equal(n2?.shards?.[0]?.role, 'primary');

    await setState('mongo-0', 'n2', { version: '7.0.1', agent_version: '0.3.2' });
    const upgraded = await client.observe(sim.nodeUrl('mongo-0', 'n2'), 'mongo-0');
    assert.equal(upgraded.datastore?.version, '7.0.1');
    assert.equal(upgraded.agent?.version.number, '0.3.2');

    const added = await admin('POST', '/admin/clusters/mongo-0/nodes', {});
    assert.equal(added.node, 'n4');
    assert.equal(added.url, `${sim.url}/c/mongo-0/n/n4`);
    const newcomer = await client.observe(added.url, 'mongo-0');
    assert.equal(newcomer.status.code, 'UP');
    assert.equal(newcomer.datastore?.node_id, 'mongo-0-n4:27017');
    assert.equal(newcomer.shards?.[0]?.role, 'secondary');

    await admin('DELETE', '/admin/clusters/mongo-0/nodes/n4');
    const removed = await client.observe(added.url, 'mongo-0');
    assert.equal(removed.status.code, 'AGENT_DOWN');

    const { changes } = (await admin('GET', `/admin/changes?since=${since}`)) as { changes: { type: string; at: string; at_ms: number }[] };
    assert.deepEqual(
      changes.map((change) => change.type),
      ['failover', 'state', 'node_added', 'node_removed'],
    );
    for (const change of changes) {
      assert.ok(change.at_ms >= startedAt && change.at_ms <= Date.now());
      assert.equal(new Date(change.at).getTime(), change.at_ms);
    }
    await admin('POST', '/admin/clusters/mongo-0/failover', { to: 'n1' });
  });
});

describe('bad answers from purpose-built servers', () => {
  test('wrong types in agent info: AGENT_DOWN naming the field', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/agent': (_req, res) => sendJson(res, 200, { version: { checkout: 'x', number: 3, taint: 'none' } }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'AGENT_DOWN');
        assert.match(observation.status.reason ?? '', /^agent info: unexpected response: version\.number: .*expected string/);
      },
    );
  });

  test('an HTML error page: AGENT_DOWN with the status, never parsed as data', async () => {
    const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    await withServer(
      agentHandler('rs0', {
        '/api/unstable/info/agent': (_req, res) => {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end(page);
        },
      }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: HTTP 502 Bad Gateway (text/html body)' });
        assert.deepEqual(server.requests, ['GET /api/unstable/info/agent']);
      },
    );
  });

  test('an HTML page with status 200: AGENT_DOWN, body is not JSON', async () => {
    await withServer(
      agentHandler('rs0', {
        '/api/unstable/info/agent': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>login</html>');
        },
      }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: HTTP 200 body is not JSON (text/html, 18 bytes)' });
      },
    );
  });

  test('a Replicante error body on agent info: its message in the reason', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/agent': (_req, res) => sendJson(res, 500, { error: 'agent is shutting down', layers: ['agent is shutting down'], trace: null, variant: null }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: HTTP 500: agent is shutting down' });
      },
    );
  });

  test('a Replicante error body with a 50 KB trace: the reason names the root cause, never the trace', async () => {
    const trace = `stack backtrace:\n${'   0: replicante_agent::api::handler\n             at src/api.rs:42\n'.repeat(1000)}`;
    const body = {
      error: "datastore operation 'conf' failed",
      layers: ["datastore operation 'conf' failed", "connection error to zookeeper with address '127.0.0.1:2181'", 'Connection refused (os error 111)'],
      trace,
      variant: 'StoreOpFailed',
    };
    assert.ok(JSON.stringify(body).length > 50_000);
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/datastore': (_req, res) => sendJson(res, 500, body), '/api/unstable/shards': (_req, res) => sendJson(res, 500, body) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'NODE_DOWN', reason: "datastore info: HTTP 500: datastore operation 'conf' failed: Connection refused (os error 111)" });
        assert.ok(!JSON.stringify(observation).includes('replicante_agent::api::handler'), 'the trace reached the observation');
      },
    );
  });

  test('error bodies without usable layers, with a huge layer, or with control characters: bounded, escaped reasons', async () => {
    const answers: Array<[unknown, (reason: string) => void]> = [
      [{ error: 'agent is shutting down', layers: [42, null], trace: null, variant: null }, (reason) => assert.equal(reason, 'agent info: HTTP 500: agent is shutting down')],
      [{ trace: 'x'.repeat(60_000), variant: 'StoreOpFailed' }, (reason) => assert.equal(reason, 'agent info: HTTP 500 Internal Server Error (application/json body)')],
      [
        { error: 'top', layers: ['top', `refused ${'z'.repeat(200_000)}`] },
        (reason) => {
          assert.ok(reason.startsWith('agent info: HTTP 500: refused zzz') && reason.endsWith('...'), reason.slice(0, 60));
          assert.ok(reason.length <= 'agent info: HTTP 500: '.length + 240, `${reason.length} characters`);
        },
      ],
      [{ error: 'top\r\nInjected: 1', layers: ['top', '\u001b[2Jgone\u0007'] }, (reason) => assert.equal(reason, 'agent info: HTTP 500: top Injected: 1: \\u001b[2Jgone\\u0007')],
    ];
    for (const [body, check] of answers) {
      await withServer(agentHandler('rs0', { '/api/unstable/info/agent': (_req, res) => sendJson(res, 500, body) }), async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'AGENT_DOWN');
        check(observation.status.reason ?? '');
      });
    }
  });

  test('a 200 body that is not UTF-8 is refused, not guessed at', async () => {
    await withServer(
      agentHandler('rs0', {
        '/api/unstable/info/datastore': (_req, res) => {
          const body = Buffer.concat([Buffer.from('{"cluster_id": "rs0", "node_id": "n1", "kind": "caf'), Buffer.from([0xe9]), Buffer.from('", "version": "1"}')]);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        },
      }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'NODE_DOWN', reason: 'datastore info: HTTP 200 body is not UTF-8 (application/json, 70 bytes)' });
      },
    );
  });

  test('control characters in what an agent reports: NODE_DOWN naming the field', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/datastore': (_req, res) => sendJson(res, 200, { cluster_id: 'rs0', node_id: 'n1', kind: 'mongodb', version: '6.0\u001b[2J' }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'NODE_DOWN', reason: 'datastore info: unexpected response: version: expected printable text, got a control character U+001B at index 3' });
      },
    );
  });

  test('a connection reset (TCP RST) mid-request: AGENT_DOWN naming the reset', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/agent': (req) => req.socket.resetAndDestroy() }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'AGENT_DOWN');
        assert.match(observation.status.reason ?? '', /^agent info: connection reset without a response/);
      },
    );
  });

  test('accept and never answer: AGENT_DOWN after the timeout', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/agent': () => undefined }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: `agent info: timeout after ${timeoutMs} ms` });
      },
    );
  });

  test('a redirect is not followed: AGENT_DOWN naming where it pointed', async () => {
    const healthy = agentHandler('rs0');
    await withServer(
      (req, res) => {
        if (req.url === '/api/unstable/info/agent') {
          res.writeHead(302, { location: '/elsewhere/api/unstable/info/agent' });
          res.end();
          return;
        }
        healthy(req, res);
      },
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: HTTP 302 redirect to "/elsewhere/api/unstable/info/agent" not followed' });
        assert.deepEqual(server.requests, ['GET /api/unstable/info/agent']);
      },
    );
  });

  test('a streamed 10 MB body is cut off near the cap, not read whole', async () => {
    const total = 10 * 1024 * 1024;
    let written = 0;
    let finished = false;
    let markClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const stream = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length to judge by
      res.on('close', markClosed);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed && written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) {
          finished = true;
          res.end();
        }
      };
      pump();
    };
    await withServer(agentHandler('rs0', { '/api/unstable/info/agent': stream }), async (server) => {
      const observation = await client.observe(server.url, 'rs0');
      assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: `agent info: response larger than ${maxResponseBytes} bytes` });
      await closed;
    });
    assert.equal(finished, false, 'the server could write the whole body: the client kept reading');
    assert.ok(written < total, `written ${written} bytes`);
  });

  test('an announced Content-Length over the cap fails before the body is read', async () => {
    await withServer(
      agentHandler('rs0', {
        '/api/unstable/info/agent': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 });
          res.write('{"version":');
        },
      }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: `agent info: response larger than ${maxResponseBytes} bytes` });
      },
    );
  });

  test('wrong types in datastore info: NODE_DOWN naming the field', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/datastore': (_req, res) => sendJson(res, 200, { cluster_id: 'rs0', node_id: 'n1', kind: 5, version: '1' }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'NODE_DOWN');
        assert.match(observation.status.reason ?? '', /^datastore info: unexpected response: kind: .*expected string/);
        assert.ok(observation.agent);
      },
    );
  });

  test('garbage datastore info or an invalid node id: NODE_DOWN', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/datastore': (_req, res) => sendJson(res, 200, '{"cluster_id": "rs0", ') }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'NODE_DOWN');
        assert.match(observation.status.reason ?? '', /^datastore info: HTTP 200 body is not JSON/);
      },
    );
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/datastore': (_req, res) => sendJson(res, 200, { cluster_id: 'rs0', node_id: 'a node/with $lash', kind: 'x', version: '1' }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'NODE_DOWN');
        assert.match(observation.status.reason ?? '', /^datastore info: unexpected response: node_id: invalid node id/);
      },
    );
  });

  test('wrong types in shards on a healthy node: UP with shards_error', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/shards': (_req, res) => sendJson(res, 200, { shards: [{ id: 'rs0', role: 7 }] }) }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'UP');
        assert.equal(observation.shards, null);
        assert.match(observation.shards_error ?? '', /^shards: unexpected response: shards\[0\]\.role: /);
      },
    );
  });

  test('lenient input is normalized: roles in any case, unknown roles, custom units, null and missing fields, extra fields', async () => {
    const bodies = healthyAgentBodies('rs0');
    await withServer(
      agentHandler('rs0', {
        '/api/unstable/info/datastore': (_req, res) => sendJson(res, 200, { ...(bodies['/api/unstable/info/datastore'] as object), cluster_display_name: undefined, extra: { nested: true } }),
        '/api/unstable/shards': (_req, res) =>
          sendJson(res, 200, {
            shards: [
              { id: 'a', role: 'PRIMARY', commit_offset: { unit: 'Seconds', value: 5 }, lag: null, extra: 1 },
              { id: 'b', role: 'Secondary', commit_offset: { unit: { unit: 'offset' }, value: 4711 }, lag: { unit: 'seconds', value: 3 } },
              { id: 'c', role: { unknown: 'Arbiter' } },
            ],
            more: 'ignored',
          }),
      }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0');
        assert.equal(observation.status.code, 'UP');
        assert.equal(observation.datastore?.cluster_display_name, null);
        assert.deepEqual(observation.datastore && Object.keys(observation.datastore).sort(), ['cluster_display_name', 'cluster_id', 'kind', 'node_id', 'version']);
        assert.deepEqual(observation.shards, [
          { id: 'a', role: 'primary', commit_offset: { unit: 'seconds', value: 5 }, lag: null },
          { id: 'b', role: 'secondary', commit_offset: { unit: { unit: 'offset' }, value: 4711 }, lag: { unit: 'seconds', value: 3 } },
          { id: 'c', role: { unknown: 'Arbiter' }, commit_offset: null, lag: null },
        ]);
      },
    );
  });

  test('a per-observation timeout overrides the client budget, in the header too', async () => {
    await withServer(
      agentHandler('rs0', { '/api/unstable/info/agent': () => undefined }),
      async (server) => {
        const observation = await client.observe(server.url, 'rs0', 150);
        assert.deepEqual(observation.status, { code: 'AGENT_DOWN', reason: 'agent info: timeout after 150 ms' });
        assert.equal(server.lastHeaders()[agentTimeoutHeader.toLowerCase()], '0.15');
      },
    );
    await withServer(agentHandler('rs0'), async (server) => {
      assert.equal((await client.observe(server.url, 'rs0')).status.code, 'UP');
      assert.equal(server.lastHeaders()[agentTimeoutHeader.toLowerCase()], '0.3', 'the override does not stick');
    });
  });

  test('every call carries the timeout header and the configured headers; connections are reused', async () => {
    await withServer(agentHandler('rs0'), async (server) => {
      for (let i = 0; i < 3; i++) assert.equal((await client.observe(server.url, 'rs0')).status.code, 'UP');
      const headers = server.lastHeaders();
      assert.equal(headers[agentTimeoutHeader.toLowerCase()], '0.3');
      assert.equal(headers.authorization, 'Bearer test-token');
      // No compression: a small compressed body could expand past the size cap.
      assert.equal(headers['accept-encoding'], undefined);
      assert.equal(server.requests.length, 9);
      assert.equal(server.requests[0], 'GET /api/unstable/info/agent');
      // Datastore and shards go out together, so a node needs at most two connections.
      assert.ok(server.connections() <= 2, `connections: ${server.connections()}`);
    });
  });
});
