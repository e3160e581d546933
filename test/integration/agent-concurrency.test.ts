/**
 * observeAll against real local HTTP servers: the per-worker and per-refresh caps, fairness
 * between a large cluster and a small one, cancellation, connections kept across refreshes and
 * bounded when idle, and one abort listener per refresh. Servers count what reaches them.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { createAgentClient } from '../../src/adapters/agent-client.js';
import type { AgentClient, AgentClientOptions } from '../../src/adapters/agent-client.js';
import { healthyAgentBodies, sendJson } from './helpers/http-servers.js';

const maxResponseBytes = 1024 * 1024;

/** Polls `probe` every 10 ms until it holds; fails after `timeoutMs`. */
async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A promise bounded by `ms`: a regression fails the test instead of hanging it. */
async function bounded<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

interface FarmOptions {
  /** Each answer is sent this long after the request arrives (agent latency). */
  delayMs?: number;
  /** Never answer requests of these clusters. */
  hang?: ReadonlySet<string>;
  /** The server's idle timeout of kept-alive connections (Node's default is 5 s). */
  keepAliveTimeoutMs?: number;
  /** Called per request before anything else; returning true means it took the request over. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * Agents of many clusters under one origin (as the sim serves them): `/c/<cluster>/n/<node>/...`.
 * Counts, per cluster and over all, the nodes with a request open at the same moment.
 */
class AgentFarm {
  readonly server: http.Server;
  url = '';
  requests = 0;
  connections = 0;
  readonly openSockets = new Set<Socket>();
  /** Open requests per node key `<cluster>/<node>`. */
  readonly #open = new Map<string, number>();
  readonly inFlightNodes = new Map<string, number>();
  readonly maxInFlightNodes = new Map<string, number>();
  openRequests = 0;
  maxOpenRequests = 0;
  maxNodesOverall = 0;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(readonly options: FarmOptions = {}) {
    this.server = http.createServer((req, res) => this.#serve(req, res));
    if (options.keepAliveTimeoutMs !== undefined) this.server.keepAliveTimeout = options.keepAliveTimeoutMs;
    this.server.on('connection', (socket) => {
      this.connections++;
      this.openSockets.add(socket);
      socket.once('close', () => this.openSockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  nodes(cluster: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${this.url}/c/${cluster}/n/n${i}`);
  }

  nodesInFlight(): number {
    return this.#open.size;
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    if (this.options.intercept?.(req, res)) return;
    const match = /^\/c\/([^/]+)\/n\/([^/]+)(\/.*)$/.exec(req.url ?? '');
    if (!match) return sendJson(res, 404, { error: 'no route' });
    const [, cluster = '', node = '', path = ''] = match;
    const key = `${cluster}/${node}`;
    this.#enter(cluster, key);
    res.once('close', () => this.#leave(cluster, key));
    if (this.options.hang?.has(cluster)) return;
    const body = healthyAgentBodies(cluster, `${node}:9092`)[path];
    const answer = (): void => (body === undefined ? sendJson(res, 404, { error: `no route ${path}` }) : sendJson(res, 200, body));
    if (!this.options.delayMs) return answer();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      answer();
    }, this.options.delayMs);
    this.#timers.add(timer);
  }

  #enter(cluster: string, key: string): void {
    this.openRequests++;
    this.maxOpenRequests = Math.max(this.maxOpenRequests, this.openRequests);
    const open = this.#open.get(key) ?? 0;
    this.#open.set(key, open + 1);
    if (open === 0) {
      const nodes = (this.inFlightNodes.get(cluster) ?? 0) + 1;
      this.inFlightNodes.set(cluster, nodes);
      this.maxInFlightNodes.set(cluster, Math.max(this.maxInFlightNodes.get(cluster) ?? 0, nodes));
      this.maxNodesOverall = Math.max(this.maxNodesOverall, this.#open.size);
    }
  }

  #leave(cluster: string, key: string): void {
    this.openRequests--;
    const open = (this.#open.get(key) ?? 1) - 1;
    if (open > 0) return void this.#open.set(key, open);
    this.#open.delete(key);
    this.inFlightNodes.set(cluster, (this.inFlightNodes.get(cluster) ?? 1) - 1);
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }
}

/** Runs `check` with farms and a client, and closes all of them whatever happens. */
async function withFarm(options: FarmOptions, client: Partial<AgentClientOptions>, check: (farm: AgentFarm, agents: AgentClient) => Promise<void>): Promise<void> {
  const farm = await new AgentFarm(options).start();
  const agents = createAgentClient({ timeoutMs: 5000, maxResponseBytes, ...client });
  try {
    await check(farm, agents);
  } finally {
    agents.close();
    await farm.close();
  }
}

function assertAllUp(observations: { status: { code: string; reason?: string } }[], count: number): void {
  assert.equal(observations.length, count);
  const down = observations.filter((o) => o.status.code !== 'UP');
  assert.deepEqual(down.map((o) => o.status), [], 'every node UP');
}

describe('bounded concurrency', () => {
  test('no more nodes in flight than the per-refresh cap, nor over all refreshes than the worker cap', async () => {
    await withFarm({ delayMs: 5 }, { maxConcurrentNodes: 7, maxConcurrentNodesPerCluster: 4 }, async (farm, agents) => {
      const clusters = ['a', 'b', 'c'];
      const results = await bounded(
        'three refreshes of 60 nodes',
        Promise.all(clusters.map((cluster) => agents.observeAll(farm.nodes(cluster, 60), cluster))),
        30_000,
      );
      for (const observations of results) assertAllUp(observations, 60);
      assert.equal(farm.requests, 3 * 60 * 3);
      const perCluster = clusters.map((cluster) => farm.maxInFlightNodes.get(cluster) ?? 0);
      assert.ok(perCluster.every((max) => max <= 4), `nodes in flight per cluster: ${perCluster.join(', ')}`);
      assert.ok(farm.maxNodesOverall <= 7, `nodes in flight over all: ${farm.maxNodesOverall}`);
      // Reached, not just respected: the caps are what bounded them.
      assert.equal(Math.max(...perCluster), 4);
      assert.ok(farm.maxNodesOverall >= 6, `the worker's slots were used: ${farm.maxNodesOverall}`);
      // Agent info, then datastore info and shards together: two requests per node at most.
      assert.ok(farm.maxOpenRequests <= 2 * 7, `requests in flight: ${farm.maxOpenRequests}`);
    });
  });

  test('observations come back in the order of the addresses', async () => {
    await withFarm({}, { maxConcurrentNodesPerCluster: 3 }, async (farm, agents) => {
      const addresses = farm.nodes('rs0', 20);
      const observations = await bounded('a refresh of 20 nodes', agents.observeAll(addresses, 'rs0'), 10_000);
      assert.deepEqual(
        observations.map((o) => o.datastore?.node_id),
        addresses.map((_, i) => `n${i}:9092`),
      );
    });
  });

  test('a small cluster is not starved by two large ones that could each take every slot', async () => {
    // Per-refresh cap = worker cap: the worst case, each large refresh alone could fill the worker.
    await withFarm({ delayMs: 10 }, { maxConcurrentNodes: 6, maxConcurrentNodesPerCluster: 6 }, async (farm, agents) => {
      const started = performance.now();
      let largeDone = 0;
      const large = ['big-1', 'big-2'].map((cluster) =>
        agents.observeAll(farm.nodes(cluster, 150), cluster).then((observations) => {
          largeDone++;
          return observations;
        }),
      );
      await until('both large refreshes in full swing', () => (farm.inFlightNodes.get('big-1') ?? 0) + (farm.inFlightNodes.get('big-2') ?? 0) >= 5);
      const smallStarted = performance.now();
      const small = await bounded('the small refresh', agents.observeAll(farm.nodes('small', 3), 'small'), 20_000);
      const smallMs = performance.now() - smallStarted;
      assertAllUp(small, 3);
      assert.equal(largeDone, 0, 'the small refresh finished while both large ones were still running');
      const largeResults = await bounded('the large refreshes', Promise.all(large), 60_000);
      const largeMs = performance.now() - started;
      for (const observations of largeResults) assertAllUp(observations, 150);
      // 2 × 150 nodes through 6 slots at two 10 ms round trips each take ≥ 1 s; the small one
      // waits at most a turn per refresh ahead of it.
      assert.ok(smallMs < largeMs / 4, `small ${Math.round(smallMs)} ms, large ${Math.round(largeMs)} ms`);
    });
  });

  test("a node's budget runs from its call, not while it waits for a slot", async () => {
    await withFarm({ delayMs: 80 }, { timeoutMs: 300, maxConcurrentNodes: 1, maxConcurrentNodesPerCluster: 1 }, async (farm, agents) => {
      const started = performance.now();
      const observations = await bounded('one node at a time', agents.observeAll(farm.nodes('rs0', 8), 'rs0'), 20_000);
      // 8 nodes one after another, 2 × 80 ms each: the last waited far longer than its 300 ms budget.
      assert.ok(performance.now() - started > 1000);
      assertAllUp(observations, 8);
    });
  });
});

describe('cancellation', () => {
  test('aborting stops the calls in flight and the queued nodes at once, and frees every slot', async () => {
    await withFarm({ hang: new Set(['stuck']), delayMs: 10 }, { timeoutMs: 30_000, maxConcurrentNodes: 5, maxConcurrentNodesPerCluster: 5 }, async (farm, agents) => {
      const controller = new AbortController();
      const pending = agents.observeAll(farm.nodes('stuck', 100), 'stuck', { signal: controller.signal });
      const outcome = pending.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await until('five nodes waiting on agent info', () => farm.inFlightNodes.get('stuck') === 5);
      const reason = new Error('refresh cancelled');
      const abortedAt = performance.now();
      controller.abort(reason);
      assert.equal(await bounded('observeAll after the abort', outcome, 2_000), reason, 'rejects with the signal reason');
      assert.ok(performance.now() - abortedAt < 1000, 'promptly');
      await until('the hung requests closed', () => farm.openRequests === 0, 2_000);
      assert.equal(farm.requests, 5, 'no queued node was called after the abort');
      // Every slot of the worker came back: the next refresh has all five at once.
      assertAllUp(await bounded('a refresh after the cancelled one', agents.observeAll(farm.nodes('ok', 20), 'ok'), 10_000), 20);
      assert.equal(farm.maxInFlightNodes.get('ok'), 5);
    });
  });

  test('an already aborted signal: nothing is called', async () => {
    await withFarm({}, {}, async (farm, agents) => {
      const reason = new Error('cancelled before the refresh');
      await assert.rejects(agents.observeAll(farm.nodes('rs0', 3), 'rs0', { signal: AbortSignal.abort(reason) }), (error) => error === reason);
      assert.equal(farm.requests, 0);
    });
  });

  test('one abort listener per refresh on the caller signal, none left after; no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // Answers held 200 ms: the refresh stays in full swing long enough to be looked at.
      await withFarm({ delayMs: 200 }, { maxConcurrentNodesPerCluster: 64 }, async (farm, agents) => {
        const controller = new AbortController();
        let listenersDuring = -1;
        const pending = agents.observeAll(farm.nodes('kafka-big', 200), 'kafka-big', { signal: controller.signal });
        await until('many nodes in flight', () => farm.nodesInFlight() >= 20);
        listenersDuring = getEventListeners(controller.signal, 'abort').length;
        assertAllUp(await bounded('a refresh of 200 nodes', pending, 20_000), 200);
        assert.equal(listenersDuring, 1);
        assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
      });
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('connections', () => {
  test('kept across refreshes: the second observation opens none, even after 5 s idle (past the old 4 s)', async () => {
    // Ten agents, each its own origin, as real nodes are.
    const farms = await Promise.all(Array.from({ length: 10 }, () => new AgentFarm({ keepAliveTimeoutMs: 60_000 }).start()));
    const agents = createAgentClient({ timeoutMs: 5000, maxResponseBytes });
    const connections = (): number[] => farms.map((farm) => farm.connections);
    try {
      const addresses = farms.map((farm) => farm.nodes('rs0', 1)[0]!);
      assertAllUp(await bounded('first refresh', agents.observeAll(addresses, 'rs0'), 10_000), 10);
      // Agent info, then datastore info and shards together: two connections per node.
      assert.deepEqual(connections(), farms.map(() => 2));
      // The time passing is what is under test: idle connections must outlive it.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      assertAllUp(await bounded('second refresh', agents.observeAll(addresses, 'rs0'), 10_000), 10);
      assert.deepEqual(connections(), farms.map(() => 2), 'no new connection');
      assert.deepEqual(farms.map((farm) => farm.requests), farms.map(() => 2 * 3));
    } finally {
      agents.close();
      await Promise.all(farms.map((farm) => farm.close()));
    }
  });

  test('idle connections are bounded over all agents: past the bound, a freed connection is kept only for its node\'s next call', async () => {
    // Twenty agents, each its own origin, as real nodes are.
    const farms = await Promise.all(Array.from({ length: 20 }, () => new AgentFarm({ keepAliveTimeoutMs: 60_000 }).start()));
    const agents = createAgentClient({ timeoutMs: 5000, maxResponseBytes, maxIdleConnections: 5 });
    try {
      const addresses = farms.map((farm) => farm.nodes('rs0', 1)[0]!);
      const open = (): number => farms.reduce((sum, farm) => sum + farm.openSockets.size, 0);
      const opened = (): number => farms.reduce((sum, farm) => sum + farm.connections, 0);
      assertAllUp(await bounded('a refresh of 20 agents', agents.observeAll(addresses, 'rs0'), 10_000), 20);
      // Still two per node: past the bound, agent info's connection carried the datastore call.
      assert.equal(opened(), 40);
      await until('at most 5 idle connections left open', () => open() <= 5, 5_000);
      // Exactly the bound: the others closed, these stay for the next refresh.
      assert.equal(open(), 5);
      const first = opened();
      assertAllUp(await bounded('the next refresh', agents.observeAll(addresses, 'rs0'), 10_000), 20);
      await until('at most 5 idle connections left open', () => open() <= 5, 5_000);
      assert.ok(opened() - first <= first - 5, `connections: ${first} then ${opened() - first}: the five kept were reused`);
    } finally {
      agents.close();
      await Promise.all(farms.map((farm) => farm.close()));
    }
  });

  test('a kept-alive connection the agent closed meanwhile: the call goes again once, on a new connection', async () => {
    // The first request on each connection is answered; a later one on the same connection is
    // dropped unanswered, as a server does when its idle timeout fires as the request arrives.
    const served = new WeakSet<Socket>();
    let dropped = 0;
    const intercept = (req: IncomingMessage): boolean => {
      if (!served.has(req.socket)) {
        served.add(req.socket);
        return false;
      }
      dropped++;
      req.socket.destroy();
      return true;
    };
    await withFarm({ intercept, keepAliveTimeoutMs: 60_000 }, { maxConcurrentNodesPerCluster: 4 }, async (farm, agents) => {
      assertAllUp(await bounded('first refresh', agents.observeAll(farm.nodes('rs0', 8), 'rs0'), 10_000), 8);
      assertAllUp(await bounded('second refresh', agents.observeAll(farm.nodes('rs0', 8), 'rs0'), 10_000), 8);
      assert.ok(dropped > 0, 'the second refresh reused connections');
      assert.equal(farm.requests, 2 * 8 * 3 + dropped, 'each dropped call was sent once more');
    });
  });

  test('a reset on a new connection is the agent\'s answer: not sent again', async () => {
    await withFarm({ intercept: (req) => (req.socket.resetAndDestroy(), true) }, {}, async (farm, agents) => {
      const [observation] = await bounded('a refresh of one node', agents.observeAll(farm.nodes('rs0', 1), 'rs0'), 10_000);
      assert.equal(observation?.status.code, 'AGENT_DOWN');
      assert.match(observation?.status.reason ?? '', /^agent info: connection reset without a response/);
      assert.equal(farm.requests, 1);
    });
  });
});
