/**
 * Measures the agent edge at 1,000 nodes (100 clusters of 10):
 * - the sim's requests/s, driven by 64 concurrent keep-alive connections cycling through every
 *   node's three Agent API calls, and the sim's own CPU time per request (its /admin/stats);
 * - the agent client's observations/s over all 1,000 nodes with 64 observations in flight,
 *   with per-observation latency percentiles;
 * - a 10,000-node sim: start time, memory and requests/s, to back "one process, 10,000 nodes".
 * The sim runs in its own process so its CPU is measured apart from the driver's. Several
 * rounds, medians reported. Writes bench/results/agents.json. Run: npm run bench:agents
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAgentClient } from '../src/adapters/agent-client.js';
import type { NodeObservation } from '../src/domain/observation.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const concurrency = 64;
const simRounds = 3;
const simRoundMs = 3000;
const clientRounds = 5;
const apiPaths = ['/api/unstable/info/agent', '/api/unstable/info/datastore', '/api/unstable/shards'];

interface SimStats {
  requests: number;
  node_requests: number;
  nodes: number;
  cpu_user_us: number;
  cpu_system_us: number;
  rss_bytes: number;
}

interface RunningSim {
  url: string;
  nodes: { cluster: string; url: string }[];
  child: ChildProcess;
  startMs: number;
  stop(): Promise<void>;
}

async function spawnSim(clusters: number, nodes: number, dir: string): Promise<RunningSim> {
  const file = join(dir, `discovery-${clusters}x${nodes}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/main.ts', '--clusters', String(clusters), '--nodes', String(nodes), '--port', '0', '--discovery-file', file], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const match = /^sim ready (\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
      else reject(new Error(`unexpected sim output: ${line}`));
    });
    child.once('exit', (code, signal) => reject(new Error(`sim exited with ${code ?? signal}`)));
  });
  const records = JSON.parse(readFileSync(file, 'utf8')) as { cluster_id: string; nodes: string[] }[];
  return {
    url,
    nodes: records.flatMap((record) => record.nodes.map((nodeUrl) => ({ cluster: record.cluster_id, url: nodeUrl }))),
    child,
    startMs: performance.now() - started,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function get(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function simStats(url: string): Promise<SimStats> {
  const agent = new http.Agent();
  try {
    return await new Promise<SimStats>((resolve, reject) => {
      http
        .get(`${url}/admin/stats`, { agent }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(text) as SimStats));
        })
        .on('error', reject);
    });
  } finally {
    agent.destroy();
  }
}

function cpuUs(stats: SimStats): number {
  return stats.cpu_user_us + stats.cpu_system_us;
}

/** One round: `concurrency` loops, each GETting the next node's next Agent API call until the deadline. */
async function driveSim(sim: RunningSim, durationMs: number): Promise<{ requestsPerSecond: number; cpuUsPerRequest: number; driverCpuUsPerRequest: number; requests: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const urls = sim.nodes.flatMap((node) => apiPaths.map((path) => `${node.url}${path}`));
  let next = 0;
  let completed = 0;
  const before = await simStats(sim.url);
  const started = performance.now();
  // This process does nothing else meanwhile: its CPU is what plain node:http GETs cost, the floor for the agent client.
  const driverCpuBefore = process.cpuUsage();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const status = await get(agent, urls[next++ % urls.length]!);
        if (status !== 200) throw new Error(`sim answered ${status}`);
        completed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const driverCpu = process.cpuUsage(driverCpuBefore);
  const after = await simStats(sim.url);
  agent.destroy();
  const served = after.node_requests - before.node_requests;
  return {
    requestsPerSecond: completed / seconds,
    cpuUsPerRequest: (cpuUs(after) - cpuUs(before)) / served,
    driverCpuUsPerRequest: (driverCpu.user + driverCpu.system) / completed,
    requests: completed,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One round: every node observed once, at most `concurrency` observations in flight. */
async function observeAll(client: ReturnType<typeof createAgentClient>, sim: RunningSim) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const before = await simStats(sim.url);
  const started = performance.now();
  // This process does nothing but drive the client here: its CPU is the client's cost.
  const clientCpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sim.nodes.length) {
        const node = sim.nodes[next++]!;
        const t0 = performance.now();
        const observation: NodeObservation = await client.observe(node.url, node.cluster);
        latencies.push(performance.now() - t0);
        statuses[observation.status.code] = (statuses[observation.status.code] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const after = await simStats(sim.url);
  latencies.sort((a, b) => a - b);
  return {
    observationsPerSecond: sim.nodes.length / seconds,
    seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    simCpuUsPerObservation: (cpuUs(after) - cpuUs(before)) / sim.nodes.length,
    clientCpuUsPerObservation: (clientCpu.user + clientCpu.system) / sim.nodes.length,
    statuses,
  };
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetview-bench-'));
  try {
    // 1,000 nodes: the sim's throughput, then the agent client's.
    const sim = await spawnSim(100, 10, dir);
    const simResults = [];
    const clientResults = [];
    try {
      await driveSim(sim, 500); // warm-up: JIT, connections, each node's cached bodies
      for (let round = 0; round < simRounds; round++) simResults.push(await driveSim(sim, simRoundMs));

      const client = createAgentClient({ timeoutMs: 5000, maxResponseBytes: 1024 * 1024 });
      try {
        await observeAll(client, sim); // warm-up
        for (let round = 0; round < clientRounds; round++) clientResults.push(await observeAll(client, sim));
      } finally {
        client.close();
      }
    } finally {
      await sim.stop();
    }
    const notUp = clientResults.filter((r) => (r.statuses.UP ?? 0) !== sim.nodes.length);
    if (notUp.length > 0) throw new Error(`some observations were not UP: ${JSON.stringify(notUp.map((r) => r.statuses))}`);

    // 10,000 nodes: what one sim process costs at that size.
    const big = await spawnSim(1000, 10, dir);
    let bigResult;
    try {
      const warm = await driveSim(big, 3000); // first touch of every node builds its cached bodies
      const steady = await driveSim(big, simRoundMs);
      const stats = await simStats(big.url);
      bigResult = {
        nodes: big.nodes.length,
        start_to_ready_ms: Math.round(big.startMs),
        rss_mb: round1(stats.rss_bytes / 1024 / 1024),
        first_pass_requests_per_s: Math.round(warm.requestsPerSecond),
        requests_per_s: Math.round(steady.requestsPerSecond),
        cpu_us_per_request: round1(steady.cpuUsPerRequest),
      };
    } finally {
      await big.stop();
    }

    const result = {
      benchmark: 'agents',
      date: new Date().toISOString(),
      machine: { node: process.version, platform: `${platform()} ${release()}`, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown' },
      setup: { clusters: 100, nodes_per_cluster: 10, nodes: sim.nodes.length, concurrency, sim_round_ms: simRoundMs, sim_rounds: simRounds, client_rounds: clientRounds, client_timeout_ms: 5000 },
      sim: {
        median_requests_per_s: Math.round(median(simResults.map((r) => r.requestsPerSecond))),
        median_cpu_us_per_request: round1(median(simResults.map((r) => r.cpuUsPerRequest))),
        median_plain_http_driver_cpu_us_per_request: round1(median(simResults.map((r) => r.driverCpuUsPerRequest))),
        rounds: simResults.map((r) => ({ requests_per_s: Math.round(r.requestsPerSecond), cpu_us_per_request: round1(r.cpuUsPerRequest), requests: r.requests })),
      },
      agent_client: {
        median_observations_per_s: Math.round(median(clientResults.map((r) => r.observationsPerSecond))),
        median_seconds_per_1000_nodes: Math.round(median(clientResults.map((r) => r.seconds)) * 1000) / 1000,
        median_p50_ms: round1(median(clientResults.map((r) => r.p50Ms))),
        median_p99_ms: round1(median(clientResults.map((r) => r.p99Ms))),
        median_sim_cpu_us_per_observation: round1(median(clientResults.map((r) => r.simCpuUsPerObservation))),
        median_client_cpu_us_per_observation: round1(median(clientResults.map((r) => r.clientCpuUsPerObservation))),
        rounds: clientResults.map((r) => ({
          observations_per_s: Math.round(r.observationsPerSecond),
          p50_ms: round1(r.p50Ms),
          p99_ms: round1(r.p99Ms),
          sim_cpu_us_per_observation: round1(r.simCpuUsPerObservation),
          client_cpu_us_per_observation: round1(r.clientCpuUsPerObservation),
        })),
      },
      sim_10000_nodes: bigResult,
      note: 'sim and driver share the machine (and its cores) with each other and with whatever else runs; an observation is three HTTP requests.',
    };
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'agents.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

    console.log(`agents benchmark, ${result.setup.nodes} nodes, concurrency ${concurrency}, ${result.machine.cpus} CPUs (${result.machine.node})`);
    console.log(`  sim:          ${result.sim.median_requests_per_s} requests/s, ${result.sim.median_cpu_us_per_request} µs sim CPU per request, plain node:http driver ${result.sim.median_plain_http_driver_cpu_us_per_request} µs CPU per request (median of ${simRounds})`);
    console.log(
      `  agent client: ${result.agent_client.median_observations_per_s} observations/s, p50 ${result.agent_client.median_p50_ms} ms, p99 ${result.agent_client.median_p99_ms} ms, ${result.agent_client.median_sim_cpu_us_per_observation} µs sim CPU and ${result.agent_client.median_client_cpu_us_per_observation} µs client CPU per observation (median of ${clientRounds})`,
    );
    console.log(
      `  sim at 10,000 nodes: ready in ${bigResult.start_to_ready_ms} ms, RSS ${bigResult.rss_mb} MB, ${bigResult.requests_per_s} requests/s, ${bigResult.cpu_us_per_request} µs CPU per request`,
    );
    console.log(`  written to ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
