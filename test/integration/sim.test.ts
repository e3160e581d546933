/**
 * The simulated fleet over HTTP: its Agent API, admin API, discovery endpoints, metrics, its
 * discovery file, a clean close, and the `npm run sim` command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSim } from '../../src/sim/index.js';
import type { SimHandle } from '../../src/sim/index.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let sim: SimHandle;
let dir: string;
let discoveryFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-sim-'));
  discoveryFile = join(dir, 'discovery.json');
  sim = await startSim({ clusters: 5, nodes: 3, partitions: 6, pageSize: 2, discoveryFile });
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the sim': () => sim.close(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(`${sim.url}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // metrics are text
  }
  return { status: response.status, body: parsed, text };
}

describe('sim Agent API', () => {
  test('each node answers the three calls under its own base URL; datastore node ids are realistic', async () => {
    const node = `/c/kafka-1/n/n2`;
    const agent = await call('GET', `${node}/api/unstable/info/agent`);
    assert.deepEqual(agent, { status: 200, body: { version: { checkout: 'f1ee7e0', number: '0.3.1', taint: 'not tainted' } }, text: agent.text });
    const datastore = await call('GET', `${node}/api/unstable/info/datastore`);
    assert.deepEqual(datastore.body, { cluster_id: 'kafka-1', node_id: 'kafka-1-n2:9092', kind: 'kafka', version: '3.6.1', cluster_display_name: 'Kafka cluster 1' });
    const shards = (await call('GET', `${node}/api/unstable/shards`)).body as { shards: { id: string; role: string }[] };
    // Partition p lives on brokers p, p+1, p+2 (mod 3): with three brokers each holds all six, leading two.
    assert.equal(shards.shards.length, 6);
    assert.deepEqual(
      shards.shards.filter((s) => s.role === 'primary').map((s) => s.id),
      ['topic-1', 'topic-4'],
    );
  });

  test('unknown routes of a node are 404, other methods 405; a node that does not exist closes the connection', async () => {
    assert.equal((await call('GET', '/c/mongo-0/n/n1/api/unstable/nope')).status, 404);
    assert.equal((await call('POST', '/c/mongo-0/n/n1/api/unstable/shards', {})).status, 405);
    await assert.rejects(call('GET', '/c/mongo-0/n/n99/api/unstable/info/agent'));
  });

  test('metrics: role per shard and request counters, in the Prometheus text format', async () => {
    const before = sim.fleet.node('mongo-3', 'n1').requests.agent_info;
    await call('GET', '/c/mongo-3/n/n1/api/unstable/info/agent');
    const metrics = await fetch(`${sim.url}/c/mongo-3/n/n1/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /^fleetview_sim_shard_role\{shard="mongo-3",role="primary"\} 1$/m);
    assert.match(text, new RegExp(`^fleetview_sim_agent_requests_total\\{endpoint="agent_info"\\} ${before + 1}$`, 'm'));
    assert.match(text, /^# TYPE fleetview_sim_agent_requests_total counter$/m);
  });
});

describe('sim agent faults', () => {
  const agentPaths = ['api/unstable/info/agent', 'api/unstable/info/datastore', 'api/unstable/shards'];
  const setAgent = (cluster: string, node: string, agent: string) => call('POST', `/admin/clusters/${cluster}/nodes/${node}/state`, { agent });

  /** A raw GET, so the socket's own error (reset, close) is what the test sees. */
  function rawGet(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer } | { error: string }> {
    return new Promise((resolve) => {
      const request = http.get(`${sim.url}${path}`, { agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      });
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
  }

  test('reset: the three Agent API calls get a TCP reset with no answer; metrics still answer', async () => {
    await setAgent('mongo-3', 'n2', 'reset');
    for (const path of agentPaths) assert.deepEqual(await rawGet(`/c/mongo-3/n/n2/${path}`), { error: 'ECONNRESET' }, path);
    assert.equal((await call('GET', '/c/mongo-3/n/n2/metrics')).status, 200);
    await setAgent('mongo-3', 'n2', 'up');
    assert.equal((await call('GET', '/c/mongo-3/n/n2/api/unstable/info/agent')).status, 200);
  });

  test('error: HTTP 500 with a Replicante error body on the three Agent API calls', async () => {
    await setAgent('mongo-3', 'n3', 'error');
    for (const path of agentPaths) {
      const answer = await call('GET', `/c/mongo-3/n/n3/${path}`);
      assert.equal(answer.status, 500, path);
      const body = answer.body as { error: string; layers: string[]; trace: unknown; variant: unknown };
      assert.deepEqual(Object.keys(body), ['error', 'layers', 'trace', 'variant']);
      assert.match(body.error, /mongo-3-n3:27017/);
    }
    assert.equal((await call('GET', '/c/mongo-3/n/n3/metrics')).status, 200);
    await setAgent('mongo-3', 'n3', 'up');
  });

  test('garbage: 200 with a body that is not JSON; oversize: a valid JSON body of 10 MiB without Content-Length', async () => {
    await setAgent('kafka-1', 'n3', 'garbage');
    const garbage = await rawGet('/c/kafka-1/n/n3/api/unstable/info/agent');
    assert.ok('status' in garbage);
    assert.equal(garbage.status, 200);
    assert.throws(() => JSON.parse(garbage.body.toString('utf8')) as unknown);
    await setAgent('kafka-1', 'n3', 'oversize');
    const oversize = await rawGet('/c/kafka-1/n/n3/api/unstable/shards');
    assert.ok('status' in oversize);
    assert.equal(oversize.status, 200);
    assert.equal(oversize.headers['content-length'], undefined);
    assert.equal(oversize.body.length, 10 * 1024 * 1024);
    assert.equal(typeof (JSON.parse(oversize.body.toString('utf8')) as { padding: string }).padding, 'string');
    await setAgent('kafka-1', 'n3', 'up');
  });
});

describe('sim admin API', () => {
  test('state changes are validated', async () => {
    const unknownField = await call('POST', '/admin/clusters/mongo-0/nodes/n1/state', { agnet: 'down' });
    assert.equal(unknownField.status, 400);
    assert.match((unknownField.body as { error: string }).error, /agnet/);
    const badMode = await call('POST', '/admin/clusters/mongo-0/nodes/n1/state', { agent: 'sleepy' });
    assert.equal(badMode.status, 400);
    assert.equal((await call('POST', '/admin/clusters/mongo-0/nodes/n1/state', '{not json')).status, 400);
    assert.equal((await call('POST', '/admin/clusters/nope/nodes/n1/state', { agent: 'down' })).status, 404);
    assert.equal((await call('POST', '/admin/clusters/mongo-0/nodes/n9/state', { agent: 'down' })).status, 404);
    assert.equal((await call('GET', '/admin/whatever')).status, 404);
  });

  test('state changes show at once: datastore down is a 503 Replicante error body on datastore and shards', async () => {
    const changed = await call('POST', '/admin/clusters/zk-2/nodes/n3/state', { datastore: 'down', version: '3.9.0' });
    assert.equal(changed.status, 200);
    assert.equal((changed.body as { state: { datastore: string } }).state.datastore, 'down');
    const datastore = await call('GET', '/c/zk-2/n/n3/api/unstable/info/datastore');
    assert.equal(datastore.status, 503);
    assert.deepEqual(Object.keys(datastore.body as object), ['error', 'layers', 'trace', 'variant']);
    assert.equal((await call('GET', '/c/zk-2/n/n3/api/unstable/shards')).status, 503);
    assert.equal((await call('GET', '/c/zk-2/n/n3/api/unstable/info/agent')).status, 200);
    await call('POST', '/admin/clusters/zk-2/nodes/n3/state', { datastore: 'up' });
    const back = await call('GET', '/c/zk-2/n/n3/api/unstable/info/datastore');
    assert.equal((back.body as { version: string }).version, '3.9.0');
  });

  test('kafka failover of one partition, and of every partition a broker holds', async () => {
    const leaderOf = async (node: string): Promise<string[]> =>
      ((await call('GET', `/c/kafka-4/n/${node}/api/unstable/shards`)).body as { shards: { id: string; role: string }[] }).shards
        .filter((s) => s.role === 'primary')
        .map((s) => s.id);
    assert.deepEqual(await leaderOf('n1'), ['topic-0', 'topic-3']);
    const one = await call('POST', '/admin/clusters/kafka-4/failover', { to: 'n1', shard: 'topic-1' });
    assert.equal(one.status, 200);
    assert.deepEqual(await leaderOf('n1'), ['topic-0', 'topic-1', 'topic-3']);
    assert.deepEqual(await leaderOf('n2'), ['topic-4']);
    await call('POST', '/admin/clusters/kafka-4/failover', { to: 'n3' });
    assert.deepEqual(await leaderOf('n3'), ['topic-0', 'topic-1', 'topic-2', 'topic-3', 'topic-4', 'topic-5']);
    assert.equal((await call('POST', '/admin/clusters/kafka-4/failover', { to: 'n3', shard: 'topic-99' })).status, 404);
  });

  test('a new kafka broker holds no partition until reassigned: failing over to it is a conflict', async () => {
    const added = await call('POST', '/admin/clusters/kafka-4/nodes');
    assert.equal(added.status, 201);
    const { node, node_id, url } = added.body as { node: string; node_id: string; url: string };
    assert.equal(node, 'n4');
    assert.equal(node_id, 'kafka-4-n4:9092');
    assert.equal(url, `${sim.url}/c/kafka-4/n/n4`);
    const shards = await call('GET', '/c/kafka-4/n/n4/api/unstable/shards');
    assert.deepEqual(shards.body, { shards: [] });
    assert.equal((await call('POST', '/admin/clusters/kafka-4/failover', { to: 'n4' })).status, 409);
    assert.equal((await call('POST', '/admin/clusters/kafka-4/nodes', { name: 'n4' })).status, 409);
    assert.equal((await call('POST', '/admin/clusters/kafka-4/nodes', { name: 'bad/name' })).status, 400);
  });

  test('added and removed nodes are in discovery and in the discovery file at once; removed nodes stop answering', async () => {
    const added = await call('POST', '/admin/clusters/mongo-0/nodes', { name: 'extra' });
    const url = (added.body as { url: string }).url;
    const fileRecords = (): { cluster_id: string; nodes: string[] }[] => JSON.parse(readFileSync(discoveryFile, 'utf8')) as { cluster_id: string; nodes: string[] }[];
    assert.ok(fileRecords().find((r) => r.cluster_id === 'mongo-0')?.nodes.includes(url));
    const served = (await call('GET', '/discovery')).body as { clusters: { cluster_id: string; nodes: string[] }[] };
    assert.ok(served.clusters.find((r) => r.cluster_id === 'mongo-0')?.nodes.includes(url));

    const removed = await call('DELETE', '/admin/clusters/mongo-0/nodes/extra');
    assert.equal(removed.status, 200);
    assert.ok(!fileRecords().find((r) => r.cluster_id === 'mongo-0')?.nodes.includes(url));
    await assert.rejects(fetch(`${url}/api/unstable/info/agent`));
    assert.equal((await call('DELETE', '/admin/clusters/mongo-0/nodes/extra')).status, 404);
  });

  test('removing the primary leaves the shard without one until a failover', async () => {
    await call('DELETE', '/admin/clusters/zk-2/nodes/n1');
    const roles = await Promise.all(['n2', 'n3'].map(async (n) => ((await call('GET', `/c/zk-2/n/${n}/api/unstable/shards`)).body as { shards: { role: string }[] }).shards[0]?.role));
    assert.deepEqual(roles, ['secondary', 'secondary']);
    await call('POST', '/admin/clusters/zk-2/failover', { to: 'n2' });
    const leader = (await call('GET', '/c/zk-2/n/n2/api/unstable/shards')).body as { shards: { role: string }[] };
    assert.equal(leader.shards[0]?.role, 'primary');
  });

  test('the change log lists every applied change in order, with ISO and epoch-ms times; rejected ones are not there', async () => {
    const log = (await call('GET', '/admin/changes')).body as { changes: { seq: number; type: string; at: string; at_ms: number }[] };
    assert.ok(log.changes.length >= 5);
    log.changes.forEach((change, index) => {
      assert.equal(change.seq, index + 1);
      assert.equal(new Date(change.at).getTime(), change.at_ms);
      if (index > 0) assert.ok(change.at_ms >= (log.changes[index - 1]?.at_ms ?? 0));
    });
    assert.ok(log.changes.every((change) => ['state', 'failover', 'node_added', 'node_removed', 'discovery'].includes(change.type)));
    const since = (await call('GET', `/admin/changes?since=${log.changes.length - 1}`)).body as { changes: unknown[] };
    assert.equal(since.changes.length, 1);
  });
});

describe('sim discovery endpoints', () => {
  test('POST /discovery pages with a cursor; GET answers everything with cursor null', async () => {
    const pages: { clusters: { cluster_id: string }[]; cursor: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const page = (await call('POST', '/discovery', { cursor })).body as { clusters: { cluster_id: string }[]; cursor: string | null };
      pages.push(page);
      cursor = page.cursor;
    } while (cursor !== null);
    assert.deepEqual(
      pages.map((page) => page.clusters.length),
      [2, 2, 1],
    );
    const all = (await call('GET', '/discovery')).body as { clusters: { cluster_id: string }[]; cursor: null };
    assert.equal(all.cursor, null);
    assert.deepEqual(
      all.clusters.map((r) => r.cluster_id),
      pages.flatMap((page) => page.clusters.map((r) => r.cluster_id)),
    );
    assert.deepEqual(
      all.clusters.map((r) => r.cluster_id),
      ['mongo-0', 'kafka-1', 'zk-2', 'mongo-3', 'kafka-4'],
    );
    assert.equal((await call('POST', '/discovery', { cursor: 'bogus' })).status, 400);
  });

  test('POST /admin/discovery makes both endpoints fail with 500 until cleared, or for N requests; each toggle is in the change log', async () => {
    const since = ((await call('GET', '/admin/changes')).body as { changes: unknown[] }).changes.length;
    assert.equal((await call('POST', '/admin/discovery', { fail: 'yes' })).status, 400);
    assert.equal((await call('POST', '/admin/discovery', { fail: true, extra: 1 })).status, 400);
    const failing = await call('POST', '/admin/discovery', { fail: true });
    assert.equal(failing.status, 200);
    const failed = [await call('POST', '/discovery', { cursor: null }), await call('GET', '/discovery'), await call('GET', '/http_sd')];
    assert.deepEqual(
      failed.map((answer) => answer.status),
      [500, 500, 500],
    );
    assert.match((failed[0]!.body as { error: string }).error, /discovery/);
    const state = (await call('GET', '/admin/discovery')).body as { fail: boolean; remaining: number | null; failed_requests: number };
    assert.deepEqual([state.fail, state.remaining], [true, null]);
    assert.ok(state.failed_requests >= 3);
    await call('POST', '/admin/discovery', { fail: false });
    assert.equal((await call('GET', '/discovery')).status, 200);

    await call('POST', '/admin/discovery', { fail: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('GET', '/discovery')).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    const log = ((await call('GET', `/admin/changes?since=${since}`)).body as { changes: { type: string; cluster: string; details: unknown }[] }).changes;
    assert.deepEqual(
      log.map((change) => [change.type, change.cluster, change.details]),
      [
        ['discovery', '', { fail: true }],
        ['discovery', '', { fail: false }],
        ['discovery', '', { fail: 2 }],
        ['discovery', '', { fail: false, after_failed_requests: state.failed_requests + 2 }],
      ],
    );
  });

  test('/http_sd: one target group per node, the cluster in a label, the agent URL in __meta_agent_address', async () => {
    const groups = (await call('GET', '/http_sd')).body as { targets: string[]; labels: Record<string, string> }[];
    const first = groups[0];
    assert.deepEqual(first, {
      targets: [new URL(sim.url).host],
      labels: {
        cluster_id: 'mongo-0',
        __meta_cluster_display_name: 'Mongo replica set 0',
        __meta_agent_address: `${sim.url}/c/mongo-0/n/n1`,
        __metrics_path__: '/c/mongo-0/n/n1/metrics',
      },
    });
    assert.equal(groups.length, sim.fleet.nodeCount());
  });
});

describe('sim lifecycle', () => {
  test('an id prefix keeps the cluster ids of several sims apart', async () => {
    const own = await startSim({ clusters: 2, nodes: 1, idPrefix: 'run7-' });
    try {
      assert.deepEqual(
        own.records().map((r) => r.cluster_id),
        ['run7-mongo-0', 'run7-kafka-1'],
      );
      const datastore = (await (await fetch(`${own.nodeUrl('run7-kafka-1', 'n1')}/api/unstable/info/datastore`)).json()) as { cluster_id: string; node_id: string };
      assert.deepEqual([datastore.cluster_id, datastore.node_id], ['run7-kafka-1', 'run7-kafka-1-n1:9092']);
    } finally {
      await own.close();
    }
    await assert.rejects(startSim({ clusters: 1, nodes: 1, idPrefix: 'a/b' }), /invalid idPrefix/);
  });

  test('close() ends hung requests and returns promptly', async () => {
    const own = await startSim({ clusters: 1, nodes: 1 });
    await fetch(`${own.url}/admin/clusters/mongo-0/nodes/n1/state`, { method: 'POST', body: JSON.stringify({ agent: 'hang' }) });
    const hung = new Promise<string>((resolve) => {
      const request = http.get(`${own.url}/c/mongo-0/n/n1/api/unstable/info/agent`, () => resolve('answered'));
      request.on('error', (error) => resolve(`error: ${error.message}`));
    });
    // The sim counts the request when it arrives; it then never answers.
    while (own.fleet.node('mongo-0', 'n1').requests.agent_info === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = Date.now();
    await own.close();
    assert.ok(Date.now() - closing < 1000);
    assert.match(await hung, /^error: /);
  });

  test('npm run sim: one "sim ready <url>" line, a discovery file, clean exit on SIGTERM', async () => {
    const file = join(dir, 'cli-discovery.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/main.ts', '--clusters', '2', '--nodes', '2', '--port', '0', '--discovery-file', file, '--kinds', 'zookeeper'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        resolve(line);
      });
      child.on('exit', (code) => reject(new Error(`sim exited early with ${code}`)));
    });
    const match = /^sim ready (http:\/\/127\.0\.0\.1:\d+)$/.exec(ready);
    assert.ok(match, ready);
    const records = JSON.parse(readFileSync(file, 'utf8')) as { cluster_id: string; nodes: string[] }[];
    assert.deepEqual(
      records.map((r) => r.cluster_id),
      ['zk-0', 'zk-1'],
    );
    assert.equal(records[0]?.nodes[0], `${match[1]}/c/zk-0/n/n1`);
    const datastore = (await (await fetch(`${records[1]?.nodes[1]}/api/unstable/info/datastore`)).json()) as { node_id: string };
    assert.equal(datastore.node_id, 'zk-1-n2:2181');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(lines, [ready]);
  });
});
