/**
 * What the fleet page costs at 1,000 clusters × 3 nodes: the store (the configured one, in a
 * database of its own, dropped at the end) gets 1,000 cluster documents with summaries and 1,000
 * discovery documents as fleetview writes them (3-node records), then the page's server (in
 * process, on the real store reads) answers GET / (all 1,000 rows, the worst first), a filter
 * and a sort; each N times. Reports per request: the time to the whole answer (p50, max), the
 * store read time the page reports, its size, and the store queries it took (one command per
 * query batch is counted through the driver's command monitoring).
 *
 * With --database NAME it reads that database as it is (e.g. the one of a running
 * `npm run bench:fleet`, whose fleet then refreshes beside the page) and neither seeds nor drops it.
 *
 * Writes bench/results/ui-page.json (--out elsewhere).
 * Run: npx tsx bench/ui-page.bench.ts [-- --clusters 1000 --repeat 10 --database NAME --out FILE]
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { createFleetReads } from '../src/adapters/fleet-reads.js';
import { createLogger } from '../src/adapters/logger.js';
import { loadConfig } from '../src/config.js';
import { EventHub } from '../src/ui/event-hub.js';
import { startUiServer } from '../src/ui/server.js';

const argValue = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const clusters = Number(argValue('clusters') ?? 1000);
const repeat = Number(argValue('repeat') ?? 10);
const config = loadConfig();
const existingDatabase = argValue('database');
const database = existingDatabase ?? `fleetview_uibench_${randomBytes(3).toString('hex')}`;
const out = argValue('out') ?? fileURLToPath(new URL('./results/ui-page.json', import.meta.url));
const statuses = ['HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'DEGRADED', 'UNAVAILABLE'] as const;
const kinds = ['mongodb', 'kafka', 'zookeeper'];

const client = new MongoClient(config.mongodb.uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
let finds = 0;
client.on('commandStarted', (event) => {
  if (event.commandName === 'find' || event.commandName === 'getMore') finds++;
});
await client.connect();
const db = client.db(database);
try {
  const now = Date.now();
  const clusterDocs = [];
  const discoveryDocs = [];
  for (let i = 0; i < clusters; i++) {
    const id = `bench-${String(i).padStart(5, '0')}`;
    const status = statuses[i % statuses.length]!;
    const down = status === 'HEALTHY' ? 0 : status === 'DEGRADED' ? 1 : 3;
    const refreshedAt = new Date(now - (i % 300) * 1000).toISOString();
    const summary = { cluster_id: id, display_name: `Cluster ${i}`, generation: 100 + i, refreshed_at: refreshedAt, status, kinds: [kinds[i % 3]!], nodes: 3, agents_down: down, nodes_down: 0, shards_count: i % 3 === 1 ? 8 : 1, shards_primaries: i % 3 === 1 ? 8 - down : 1 - Math.min(1, down) };
    clusterDocs.push({ _id: id, cluster_id: id, generation: summary.generation, writing_generation: summary.generation, updated_at: refreshedAt, summary });
    const record = { cluster_id: id, display_name: `Cluster ${i}`, nodes: [1, 2, 3].map((n) => ({ agent_address: `http://127.0.0.1:7070/c/${id}/n/n${n}`, node_id: null, node_class: null, node_group: null })) };
    const seen = new Date(now - 60_000);
    discoveryDocs.push({ _id: id, cluster_id: id, record, discovery: 'bench', listed_by: ['bench'], held_by: [], dropped_by: null, first_seen: seen, last_seen: seen, record_at: seen, missing_since: null, grace_s: 30, retired_at: null, retired_run: null, retire_done: false });
  }
  for (let start = 0; existingDatabase === undefined && start < clusters; start += 500) {
    await db.collection('clusters').insertMany(clusterDocs.slice(start, start + 500) as never[]);
    await db.collection('discoveries').insertMany(discoveryDocs.slice(start, start + 500) as never[]);
  }

  const hub = new EventHub({ instance: 'bench' });
  const server = await startUiServer({
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    deps: {
      fleet: createFleetReads({ db, timeoutMs: config.mongodb.timeoutMs }),
      control: {
        view: () => Promise.resolve({ kind: 'not-found' }),
        refreshNow: () => Promise.resolve({ ok: false, problem: 'bench' }),
        control: (_id, action) => Promise.resolve({ ok: false, action: action.kind, problem: 'bench' }),
      },
      loadStoredView: () => Promise.resolve(null),
      hub,
      feedStatus: () => ({ state: 'live', since: new Date().toISOString(), error: null, read: 0 }),
      topic: config.kafka.topic,
      temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
      defaultAgentTimeoutMs: config.agent.timeoutMs,
      logger: createLogger('error'),
    },
  });
  const pages: Record<string, unknown> = {};
  try {
    for (const [name, path] of [['fleet, all rows, the worst first', '/'], ['status=DEGRADED', '/?status=DEGRADED'], ['sort=refreshed&dir=desc&limit=100', '/?sort=refreshed&dir=desc&limit=100']] as const) {
      const times: number[] = [];
      const reads: number[] = [];
      let bytes = 0;
      let rows = 0;
      const findsBefore = finds;
      for (let i = 0; i < repeat + 1; i++) {
        const started = performance.now();
        const response = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(30_000) });
        const body = await response.text();
        if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 300)}`);
        // The first request warms up (JIT, connection pool): not counted.
        if (i === 0) continue;
        times.push(performance.now() - started);
        reads.push(Number(/Read from the store in (\d+) ms/.exec(body)?.[1] ?? NaN));
        bytes = Buffer.byteLength(body);
        rows = body.match(/<tr data-cluster=/g)?.length ?? 0;
      }
      times.sort((a, b) => a - b);
      pages[name] = {
        path,
        requests: repeat,
        rows,
        html_bytes: bytes,
        total_ms_p50: Math.round(times[Math.floor(times.length / 2)]!),
        total_ms_max: Math.round(times[times.length - 1]!),
        store_read_ms_p50: reads.sort((a, b) => a - b)[Math.floor(reads.length / 2)],
        store_find_commands_per_page: (finds - findsBefore) / (repeat + 1),
      };
      process.stdout.write(`${name}: ${JSON.stringify(pages[name])}\n`);
    }
  } finally {
    await server.close();
  }
  const result = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_1m: loadavg()[0] },
    store: config.mongodb.uri.replace(/\/\/[^@/]*@/, '//***@'),
    database: existingDatabase ?? null,
    clusters: existingDatabase === undefined ? clusters : null,
    nodes_per_cluster: existingDatabase === undefined ? 3 : null,
    note:
      existingDatabase === undefined
        ? 'the page served in process by the fleet page server, reading a store database of its own with 1,000 cluster and discovery documents; store_find_commands_per_page counts find and getMore commands (4 queries, each in batches of 1,000; the fourth, the pause and maintenance windows, reads only clusters that have one)'
        : `the page served in process by the fleet page server, reading the existing database ${existingDatabase} as it was (rows: what the page listed); store_find_commands_per_page counts find and getMore commands`,
    pages,
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
} finally {
  if (existingDatabase === undefined) await db.dropDatabase().catch(() => undefined);
  await client.close();
}
