/**
 * Times aggregate + diff (the pure work of one refresh inside a workflow activation) for
 * clusters of 3, 100 and 1,000 nodes with 10 shards per node (shards replicated three times,
 * one primary each). Scenarios per size:
 * - steady: every offset and lag moved since the previous view, no event (the common refresh)
 * - churn: 10% of nodes flip between UP and NODE_DOWN, and a failover on every tenth replica set
 * - first: the first refresh of the cluster, every node, info and shard announced
 * Prints a table and writes bench/results/domain.json. Run: npm run bench:domain
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { aggregate, diff } from '../src/domain/index.js';
import type { ClusterView, DiscoveryRecord, NodeObservation, Shard } from '../src/domain/index.js';

const shardsPerNode = 10;
const replicas = 3;
const options = { nodeRetireGraceMs: 10 * 60_000 };

interface Sizing {
  nodes: number;
  warmup: number;
  iterations: number;
}

const sizes: Sizing[] = [
  { nodes: 3, warmup: 500, iterations: 5000 },
  { nodes: 100, warmup: 100, iterations: 1000 },
  { nodes: 1000, warmup: 10, iterations: 100 },
];

function address(i: number): string {
  return `https://db-${String(i).padStart(4, '0')}.example.internal:37017`;
}

function discoveryRecord(nodes: number): DiscoveryRecord {
  return {
    cluster_id: 'bench',
    display_name: 'Benchmark cluster',
    nodes: Array.from({ length: nodes }, (_, i) => ({ agent_address: address(i) })),
  };
}

/** Node i belongs to replica set floor(i / 3) and holds its 10 shards; the set's first node is primary. */
function observations(nodes: number, round: number, change: { down?: (i: number) => boolean; failover?: (set: number) => boolean } = {}): NodeObservation[] {
  return Array.from({ length: nodes }, (_, i): NodeObservation => {
    const set = Math.floor(i / replicas);
    const position = i % replicas;
    const primaryPosition = change.failover?.(set) ? 1 : 0;
    if (change.down?.(i)) {
      return {
        address: address(i),
        status: { code: 'NODE_DOWN', reason: 'connection refused' },
        agent: { version: { checkout: 'a1b2c3d', number: '0.3.1', taint: 'not tainted' } },
        datastore: null,
        shards: null,
        shards_error: null,
      };
    }
    const shards: Shard[] = Array.from({ length: shardsPerNode }, (_, k) => ({
      id: `set-${set}-shard-${k}`,
      role: position === primaryPosition ? 'primary' : 'secondary',
      commit_offset: { unit: 'seconds', value: 1_732_480_000 + round * 10 + k },
      lag: position === primaryPosition ? null : { unit: 'seconds', value: (round + i + k) % 7 },
    }));
    return {
      address: address(i),
      status: { code: 'UP' },
      agent: { version: { checkout: 'a1b2c3d', number: '0.3.1', taint: 'not tainted' } },
      datastore: { cluster_id: 'bench', node_id: `db-${i}:27017`, kind: 'mongodb', version: '6.0.5', cluster_display_name: null },
      shards,
      shards_error: null,
    };
  });
}

interface Timing {
  total: number[];
  aggregate: number[];
  diff: number[];
  events: number;
}

function time(previous: ClusterView | null, record: DiscoveryRecord, observed: NodeObservation[], sizing: Sizing): Timing {
  const timing: Timing = { total: [], aggregate: [], diff: [], events: 0 };
  for (let i = 0; i < sizing.warmup + sizing.iterations; i += 1) {
    const start = performance.now();
    const view = aggregate(previous, record, observed, '2026-11-24T10:01:00.000Z', options);
    const aggregated = performance.now();
    const events = diff(previous, view);
    const end = performance.now();
    if (i < sizing.warmup) continue;
    timing.total.push(end - start);
    timing.aggregate.push(aggregated - start);
    timing.diff.push(end - aggregated);
    timing.events = events.length;
  }
  return timing;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

const results = [];
for (const sizing of sizes) {
  const record = discoveryRecord(sizing.nodes);
  const previous = aggregate(null, record, observations(sizing.nodes, 0), '2026-11-24T10:00:00.000Z', options);
  const scenarios: Array<[string, ClusterView | null, NodeObservation[]]> = [
    ['steady', previous, observations(sizing.nodes, 1)],
    ['churn', previous, observations(sizing.nodes, 1, { down: (i) => i % 10 === 5, failover: (set) => set % 10 === 0 })],
    ['first', null, observations(sizing.nodes, 0)],
  ];
  for (const [scenario, before, observed] of scenarios) {
    const timing = time(before, record, observed, sizing);
    results.push({
      nodes: sizing.nodes,
      shard_allocations: sizing.nodes * shardsPerNode,
      scenario,
      events: timing.events,
      warmup: sizing.warmup,
      iterations: sizing.iterations,
      median_ms: round3(percentile(timing.total, 50)),
      p95_ms: round3(percentile(timing.total, 95)),
      aggregate_median_ms: round3(percentile(timing.aggregate, 50)),
      diff_median_ms: round3(percentile(timing.diff, 50)),
    });
  }
}

console.table(results);

const output = {
  benchmark: 'domain aggregate + diff per refresh',
  generated_at: new Date().toISOString(),
  node: process.version,
  platform: `${platform()} ${release()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  shards_per_node: shardsPerNode,
  target: 'median under 5 ms at 100 nodes',
  results,
};
const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'domain.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
console.log(`written ${file}`);
