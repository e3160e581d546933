/**
 * The embedded store under fleetview's write shapes, for each store that can run here:
 * - `store`: what scripts/services.sh runs (mongo-java-server + H2 MVStore, FleetviewStore.java);
 * - `ferretdb`: FerretDB v1.24.2 on SQLite, the previous default, if its binary is in the cache
 *   (FLEETVIEW_FERRETDB_BIN, default ~/.cache/fleetview/ferretdb/v1.24.2/bin/ferretdb).
 * Each store is started by this script on a free port with its own data folder, so the shared
 * services are never touched. Every pattern runs as "refreshes" of 20 documents (one cluster's
 * agents, nodes and shards) for a few seconds, on a fresh database of N documents (N = 2,000 and
 * 20,000), with Q = 1, 4 and 16 concurrent refreshes over a client of maxPoolSize Q:
 * - guarded_upsert: bulkWrite (unordered) of 20 updateOne({_id, generation: {$lt: g}}, {$set}, upsert)
 * - update_by_id: bulkWrite (unordered) of 20 updateOne({_id}, {$set})
 * - update_one_calls: 20 separate updateOne({_id}, {$set}) calls, one after the other
 * - insert_many: insertMany of 20 new documents (the collection grows)
 * - delete_by_cluster_generation: insertMany of the cluster's 20 documents of generation g, then
 *   deleteMany({cluster_id, generation: {$lt: g}}) (N stays constant; figures are deleted docs/s)
 * - delete_by_id_in: the same with deleteMany({_id: {$in: the 20 old ids}})
 * Every call has a 5 s timeout: a call that does not answer is reported as a hang and the cell
 * stops there (its client is closed), never waited on. For each cell: documents/s, call latency
 * p50/p99, the store process's CPU (% of one core) and peak RSS. Per store also: start time on
 * an empty folder and on 20,000 documents, a 64-client mixed stress (hang or not), and whether
 * every acknowledged write survives a SIGKILL and restart.
 * Writes bench/results/store.json. Run: npm run bench:store [-- --seconds 3 --only store]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './fleet/ports.js';
import { processAlive } from './fleet/services.js';
import { cpus, homedir, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';

type Doc = Document & { _id: string };

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const argValue = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const cellSeconds = Number(argValue('seconds') ?? 3);
const only = argValue('only');
const opTimeoutMs = 5000;
const docsPerRefresh = 20;
const sizes = [2000, 20000];
const pools = [1, 4, 16];
const patterns = ['guarded_upsert', 'update_by_id', 'update_one_calls', 'insert_many', 'delete_by_cluster_generation', 'delete_by_id_in'] as const;
type Pattern = (typeof patterns)[number];

// --- the store process -----------------------------------------------------------------------

interface RunningStore {
  uri: string;
  pid: number;
  startMs: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

interface StoreKind {
  name: string;
  description: string;
  available(): string | null; // null when it can run, else why not
  start(dataDir: string, port: number): Promise<RunningStore>;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid) && Date.now() < deadline) await sleep(50);
  return !processAlive(pid);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a ping every 20 ms from `since` until the server answers; returns ms since `since`. */
async function waitForPing(uri: string, since: number, child?: ChildProcess): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`store exited with ${child.exitCode} while starting`);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
    try {
      await client.db('admin').command({ ping: 1 });
      return performance.now() - since;
    } catch {
      if (Date.now() > deadline) throw new Error(`${uri} did not answer a ping within 120 s`);
    } finally {
      await client.close(true).catch(() => undefined);
    }
    await sleep(20);
  }
}

const servicesScript = join(repoRoot, 'scripts', 'services.sh');

const embeddedStore: StoreKind = {
  name: 'store',
  description: 'mongo-java-server 1.47.0 + H2 MVStore 2.3.232 via scripts/store/FleetviewStore.java (scripts/services.sh)',
  available: () => {
    const r = spawnSync('bash', [servicesScript, 'install', 'store'], { encoding: 'utf8' });
    return r.status === 0 ? null : `services.sh install store failed: ${r.stderr}`;
  },
  async start(dataDir, port) {
    const env = { ...process.env, FLEETVIEW_MONGODB_PORT: String(port), FLEETVIEW_DATA_DIR: join(dataDir, 'data'), FLEETVIEW_RUN_DIR: join(dataDir, 'run') };
    const uri = `mongodb://127.0.0.1:${port}/`;
    const since = performance.now();
    const script = spawn('bash', [servicesScript, 'start', 'store'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    script.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const startMs = await waitForPing(uri, since);
    const code = await new Promise<number | null>((resolve) => (script.exitCode !== null ? resolve(script.exitCode) : script.once('exit', resolve)));
    if (code !== 0) throw new Error(`services.sh start store failed:\n${stderr}`);
    const pid = Number(readFileSync(join(dataDir, 'run', 'store.pid'), 'utf8'));
    return {
      uri,
      pid,
      startMs,
      stop() {
        spawnSync('bash', [servicesScript, 'stop', 'store'], { env });
        return Promise.resolve();
      },
      async kill() {
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 5000);
      },
    };
  },
};

const ferretdbBin = process.env.FLEETVIEW_FERRETDB_BIN ?? join(process.env.FLEETVIEW_CACHE_DIR ?? join(homedir(), '.cache', 'fleetview'), 'ferretdb', 'v1.24.2', 'bin', 'ferretdb');
const ferretdb: StoreKind = {
  name: 'ferretdb',
  description: 'FerretDB v1.24.2, SQLite backend (the previous default)',
  available: () => (existsSync(ferretdbBin) ? null : `no FerretDB binary at ${ferretdbBin}`),
  async start(dataDir, port) {
    const dir = join(dataDir, 'ferretdb');
    mkdirSync(dir, { recursive: true });
    const uri = `mongodb://127.0.0.1:${port}/`;
    const since = performance.now();
    const debugPort = await freePort();
    // --state-dir: FerretDB writes its state.json there (default: the working directory, the checkout).
    const child = spawn(ferretdbBin, ['--handler=sqlite', `--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, `--listen-addr=127.0.0.1:${port}`, `--debug-addr=127.0.0.1:${debugPort}`, '--telemetry=disable', '--log-level=error'], {
      stdio: 'ignore',
      detached: true,
    });
    const startMs = await waitForPing(uri, since, child);
    const pid = child.pid!;
    const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve())));
    return {
      uri,
      pid,
      startMs,
      async stop() {
        child.kill('SIGTERM');
        await Promise.race([exited(), sleep(10_000)]);
        if (processAlive(pid)) child.kill('SIGKILL');
        await exited();
      },
      async kill() {
        child.kill('SIGKILL');
        await exited();
      },
    };
  },
};

// --- process sampling ------------------------------------------------------------------------

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

class ProcessSampler {
  private readonly startTicks: number;
  private readonly startAt = performance.now();
  private peakRss: number;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.startTicks = cpuTicks(pid);
    this.peakRss = rssMb(pid);
    this.timer = setInterval(() => {
      try {
        this.peakRss = Math.max(this.peakRss, rssMb(pid));
      } catch {
        /* process gone */
      }
    }, 200);
  }
  finish() {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.startAt) / 1000;
    const ticks = cpuTicks(this.pid) - this.startTicks;
    return { cpu_percent: Math.round((ticks / clockTicks / seconds) * 100), rss_peak_mb: Math.max(this.peakRss, rssMb(this.pid)) };
  }
}

// --- the workload ----------------------------------------------------------------------------

class Hang extends Error {}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Hang(`${what}: no answer within ${opTimeoutMs} ms`)), opTimeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function entity(clusterId: string, i: number, generation: number, id: string): Doc {
  return {
    _id: id,
    cluster_id: clusterId,
    generation,
    kind: ['agent', 'agent_info', 'node', 'shard'][i % 4],
    node_id: `n${i % 3}`,
    status: 'UP',
    agent_address: `http://10.0.${i % 3}.1:8080/c/${clusterId}/n/n${i % 3}`,
    info: { version: '7.0.14', role: i % 3 === 0 ? 'primary' : 'secondary', shard_id: `s${i}`, commit_offset: { value: generation * 1000 + i, unit: 'seconds' } },
  };
}

const stableId = (c: string, i: number) => `${c}/e${i}`;
const generationId = (c: string, g: number, i: number) => `${c}/g${g}/e${i}`;

interface CellResult {
  pattern: Pattern;
  n: number;
  q: number;
  docs_per_s: number;
  calls: number;
  p50_ms: number;
  p99_ms: number;
  hang: string | null;
  error: string | null;
  cpu_percent: number;
  rss_peak_mb: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
}

async function populate(coll: Collection<Doc>, n: number, pattern: Pattern) {
  const clusters = n / docsPerRefresh;
  const docs: Doc[] = [];
  for (let c = 0; c < clusters; c++) {
    const clusterId = `c${c}`;
    for (let i = 0; i < docsPerRefresh; i++) {
      const id = pattern.startsWith('delete_') || pattern === 'insert_many' ? generationId(clusterId, 1, i) : stableId(clusterId, i);
      docs.push(entity(clusterId, i, 1, id));
    }
  }
  for (let i = 0; i < docs.length; i += 1000) await withTimeout(coll.insertMany(docs.slice(i, i + 1000), { ordered: false }), 'populate insertMany');
  await withTimeout(coll.createIndex({ cluster_id: 1, generation: 1 }), 'createIndex');
}

async function runCell(store: RunningStore, pattern: Pattern, n: number, q: number, cellNo: number): Promise<CellResult> {
  const client = new MongoClient(store.uri, { maxPoolSize: q, serverSelectionTimeoutMS: opTimeoutMs });
  const coll = client.db(`bench_${cellNo}_${pattern}_${n}_${q}`).collection<Doc>('entities');
  const latencies: number[] = [];
  let docs = 0;
  let hang: string | null = null;
  let error: string | null = null;
  let sampler: ProcessSampler | undefined;
  try {
    await withTimeout(coll.drop().catch(() => undefined), 'drop');
    await populate(coll, n, pattern);
    const clusters = n / docsPerRefresh;
    const generations = new Array<number>(clusters).fill(1);
    let next = 0;
    sampler = new ProcessSampler(store.pid);
    const started = performance.now();
    const deadline = started + cellSeconds * 1000;
    let stop = false;
    const worker = async () => {
      while (!stop && performance.now() < deadline) {
        const c = next++ % clusters;
        const clusterId = `c${c}`;
        const previous = generations[c]!;
        const g = (generations[c] = previous + 1);
        const t0 = performance.now();
        try {
          if (pattern === 'update_one_calls') {
            for (let i = 0; i < docsPerRefresh; i++) {
              await withTimeout(coll.updateOne({ _id: stableId(clusterId, i) }, { $set: { generation: g, status: g % 2 ? 'UP' : 'DOWN' } }), 'updateOne');
            }
            docs += docsPerRefresh;
            latencies.push(performance.now() - t0);
          } else if (pattern === 'guarded_upsert' || pattern === 'update_by_id') {
            const ops: AnyBulkWriteOperation<Doc>[] = [];
            for (let i = 0; i < docsPerRefresh; i++) {
              const id = stableId(clusterId, i);
              const { _id, ...fields } = entity(clusterId, i, g, id);
              void _id;
              ops.push(
                pattern === 'guarded_upsert'
                  ? { updateOne: { filter: { _id: id, generation: { $lt: g } }, update: { $set: fields }, upsert: true } }
                  : { updateOne: { filter: { _id: id }, update: { $set: { generation: g, status: g % 2 ? 'UP' : 'DOWN' } } } },
              );
            }
            await withTimeout(coll.bulkWrite(ops, { ordered: false }), `${pattern} bulkWrite`);
            docs += docsPerRefresh;
            latencies.push(performance.now() - t0);
          } else {
            const fresh = Array.from({ length: docsPerRefresh }, (_, i) => entity(clusterId, i, g, generationId(clusterId, g, i)));
            await withTimeout(coll.insertMany(fresh, { ordered: false }), 'insertMany');
            if (pattern === 'insert_many') {
              docs += docsPerRefresh;
              latencies.push(performance.now() - t0);
              continue;
            }
            const t1 = performance.now();
            const result =
              pattern === 'delete_by_cluster_generation'
                ? await withTimeout(coll.deleteMany({ cluster_id: clusterId, generation: { $lt: g } }), 'deleteMany by cluster_id, generation')
                : await withTimeout(coll.deleteMany({ _id: { $in: Array.from({ length: docsPerRefresh }, (_, i) => generationId(clusterId, previous, i)) } }), 'deleteMany by _id $in');
            if (result.deletedCount !== docsPerRefresh) throw new Error(`deleted ${result.deletedCount} documents, expected ${docsPerRefresh}`);
            docs += result.deletedCount;
            latencies.push(performance.now() - t1);
          }
        } catch (e) {
          stop = true;
          if (e instanceof Hang) hang ??= e.message;
          else error ??= (e as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: q }, worker));
    const seconds = (performance.now() - started) / 1000;
    const usage = sampler.finish();
    latencies.sort((a, b) => a - b);
    return { pattern, n, q, docs_per_s: Math.round(docs / seconds), calls: latencies.length, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), hang, error, ...usage };
  } catch (e) {
    const usage = sampler?.finish() ?? { cpu_percent: 0, rss_peak_mb: 0 };
    if (e instanceof Hang) hang = e.message;
    else error = (e as Error).message;
    return { pattern, n, q, docs_per_s: 0, calls: 0, p50_ms: 0, p99_ms: 0, hang, error, ...usage };
  } finally {
    await Promise.race([client.close(true).catch(() => undefined), sleep(2000)]);
  }
}

/** 64 clients at once over five collections: guarded upserts, deletes, finds, counts, distinct. */
async function stress(store: RunningStore): Promise<{ seconds: number; calls: number; hang: string | null; error: string | null; cpu_percent: number; rss_peak_mb: number }> {
  const client = new MongoClient(store.uri, { maxPoolSize: 64, serverSelectionTimeoutMS: opTimeoutMs });
  const db = client.db('bench_stress');
  const names = ['clusters', 'agents', 'agents_info', 'nodes', 'shards'];
  let calls = 0;
  let hang: string | null = null;
  let error: string | null = null;
  const sampler = new ProcessSampler(store.pid);
  const deadline = performance.now() + cellSeconds * 1000;
  let stop = false;
  const worker = async (w: number) => {
    let g = 1;
    while (!stop && performance.now() < deadline) {
      g++;
      const coll = db.collection<Doc>(names[(w + g) % names.length]!);
      const clusterId = `c${(w * 7 + g) % 50}`;
      try {
        switch (g % 4) {
          case 0:
            await withTimeout(coll.bulkWrite(Array.from({ length: 20 }, (_, i) => ({ updateOne: { filter: { _id: `${clusterId}/w${w}/${i}`, generation: { $lt: g } }, update: { $set: { cluster_id: clusterId, generation: g } }, upsert: true } })), { ordered: false }), 'stress bulkWrite');
            break;
          case 1:
            await withTimeout(coll.deleteMany({ cluster_id: clusterId, generation: { $lt: g - 2 } }), 'stress deleteMany');
            break;
          case 2:
            await withTimeout(coll.find({ cluster_id: clusterId }).sort({ generation: -1 }).limit(5).toArray(), 'stress find');
            break;
          default:
            await withTimeout(Promise.all([coll.countDocuments({ cluster_id: clusterId }), coll.distinct('cluster_id')]), 'stress count + distinct');
        }
        calls++;
      } catch (e) {
        stop = true;
        if (e instanceof Hang) hang ??= e.message;
        else error ??= (e as Error).message;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
  const result = { seconds: Math.round((performance.now() - started) / 100) / 10, calls, hang, error, ...sampler.finish() };
  await Promise.race([client.close(true).catch(() => undefined), sleep(2000)]);
  return result;
}

/** Acknowledged writes, SIGKILL right after the last answer, restart on the same folder, count. */
async function killAndRestart(kind: StoreKind, store: RunningStore, dataDir: string, port: number) {
  const client = new MongoClient(store.uri, { maxPoolSize: 4, serverSelectionTimeoutMS: opTimeoutMs });
  const coll = client.db('bench_durability').collection<Doc>('entities');
  let acknowledged = 0;
  for (let b = 0; b < 50; b++) {
    await withTimeout(coll.insertMany(Array.from({ length: 20 }, (_, i) => entity(`d${b}`, i, 1, generationId(`d${b}`, 1, i)))), 'durability insertMany');
    acknowledged += 20;
  }
  for (let b = 0; b < 50; b++) {
    await withTimeout(coll.bulkWrite(Array.from({ length: 20 }, (_, i) => ({ updateOne: { filter: { _id: generationId(`d${b}`, 1, i), generation: { $lt: 2 } }, update: { $set: { generation: 2 } }, upsert: true } })), { ordered: false }), 'durability bulkWrite');
  }
  await client.close(true);
  await store.kill();
  const restarted = await kind.start(dataDir, port);
  const again = new MongoClient(restarted.uri, { serverSelectionTimeoutMS: opTimeoutMs });
  const c2 = again.db('bench_durability').collection<Doc>('entities');
  const found = await withTimeout(c2.countDocuments({}), 'count after restart');
  const atGeneration2 = await withTimeout(c2.countDocuments({ generation: 2 }), 'count generation 2 after restart');
  await again.close(true);
  return { restarted, result: { acknowledged_docs: acknowledged, found_after_sigkill: found, updates_acknowledged: acknowledged, updates_found: atGeneration2, restart_ms: Math.round(restarted.startMs) } };
}

async function benchStore(kind: StoreKind) {
  const dataDir = mkdtempSync(join(tmpdir(), `fleetview-bench-store-${kind.name}-`));
  const port = await freePort();
  let store = await kind.start(dataDir, port);
  const startEmptyMs = Math.round(store.startMs);
  const rssIdleMb = rssMb(store.pid);
  console.error(`[${kind.name}] started in ${startEmptyMs} ms, RSS ${rssIdleMb} MB (port ${port}, data ${dataDir})`);
  const cells: CellResult[] = [];
  try {
    // Warm-up, not reported: a JVM runs its first seconds interpreted.
    await runCell(store, 'guarded_upsert', 2000, 4, 999);
    let cellNo = 0;
    for (const pattern of patterns) {
      for (const n of sizes) {
        for (const q of pools) {
          const cell = await runCell(store, pattern, n, q, cellNo++);
          cells.push(cell);
          if (cell.hang) {
            // A hung store keeps working on what it was given (FerretDB goes on scanning): start
            // it anew on an empty folder so the next cell is not measured against that.
            await store.stop();
            rmSync(dataDir, { recursive: true, force: true });
            mkdirSync(dataDir, { recursive: true });
            store = await kind.start(dataDir, port);
            cell.error = [cell.error, 'store restarted after the hang'].filter(Boolean).join('; ');
          }
          console.error(`[${kind.name}] ${pattern} N=${n} Q=${q}: ${cell.docs_per_s} docs/s, p50 ${cell.p50_ms} ms, p99 ${cell.p99_ms} ms, CPU ${cell.cpu_percent}%, RSS ${cell.rss_peak_mb} MB${cell.hang ? `, HANG: ${cell.hang}` : ''}${cell.error ? `, error: ${cell.error}` : ''}`);
        }
      }
    }
    const stressResult = await stress(store);
    console.error(`[${kind.name}] stress 64 clients: ${stressResult.calls} calls in ${stressResult.seconds} s${stressResult.hang ? `, HANG: ${stressResult.hang}` : ''}${stressResult.error ? `, error: ${stressResult.error}` : ''}`);
    // A restart on a fleet-sized data set: 20,000 documents (1,000 clusters x 20) in four
    // collections, rewritten by guarded upserts (twice, or for 20 s), on a fresh folder.
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    store = await kind.start(dataDir, port);
    const fill = await fillFleet(store.uri);
    const sizeMb = Math.round(Number(spawnSync('du', ['-sm', dataDir], { encoding: 'utf8' }).stdout.split('\t')[0]));
    await store.stop();
    store = await kind.start(dataDir, port);
    const restartOnData = { documents: 20000, ...fill, data_mb: sizeMb, start_ms: Math.round(store.startMs), rss_after_start_mb: rssMb(store.pid) };
    console.error(`[${kind.name}] restart on 20000 documents (${sizeMb} MB): ${restartOnData.start_ms} ms`);
    let sigkill: Awaited<ReturnType<typeof killAndRestart>>['result'] | { problem: string };
    try {
      const durability = await killAndRestart(kind, store, dataDir, port);
      store = durability.restarted;
      sigkill = durability.result;
      console.error(`[${kind.name}] SIGKILL after ${sigkill.acknowledged_docs} acknowledged inserts + updates: ${sigkill.found_after_sigkill} documents and ${sigkill.updates_found} updates found after restart`);
    } catch (e) {
      sigkill = { problem: (e as Error).message };
      console.error(`[${kind.name}] SIGKILL test failed: ${sigkill.problem}`);
    }
    return { name: kind.name, description: kind.description, start_empty_ms: startEmptyMs, rss_idle_mb: rssIdleMb, cells, stress_64_clients: stressResult, restart_on_data: restartOnData, sigkill };
  } finally {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Inserts the documents, then rewrites them by guarded upserts for at most 20 s. */
async function fillFleet(uri: string): Promise<{ fill_ms: number; rewritten: number; problem: string | null }> {
  const client = new MongoClient(uri, { maxPoolSize: 4, serverSelectionTimeoutMS: opTimeoutMs });
  const started = performance.now();
  let rewritten = 0;
  let problem: string | null = null;
  try {
    for (const name of ['agents', 'agents_info', 'nodes', 'shards']) {
      const coll = client.db('bench_fleet').collection<Doc>(name);
      await withTimeout(coll.createIndex({ cluster_id: 1, generation: 1 }), 'fleet createIndex');
      for (let c = 0; c < 1000; c += 100) {
        const docs = [];
        for (let k = c; k < c + 100; k++) for (let i = 0; i < 5; i++) docs.push(entity(`c${k}`, i, 1, `${name}/c${k}/${i}`));
        await withTimeout(coll.insertMany(docs), 'fleet insertMany');
      }
    }
    const rewriteUntil = performance.now() + 20_000;
    for (let g = 2; g <= 3; g++) {
      for (const name of ['agents', 'agents_info', 'nodes', 'shards']) {
        const coll = client.db('bench_fleet').collection<Doc>(name);
        for (let c = 0; c < 1000 && performance.now() < rewriteUntil; c += 4) {
          const ops: AnyBulkWriteOperation<Doc>[] = [];
          for (let k = c; k < c + 4; k++) for (let i = 0; i < 5; i++) ops.push({ updateOne: { filter: { _id: `${name}/c${k}/${i}`, generation: { $lt: g } }, update: { $set: { generation: g } }, upsert: true } });
          await withTimeout(coll.bulkWrite(ops, { ordered: false }), 'fleet bulkWrite');
          rewritten += ops.length;
        }
      }
    }
  } catch (e) {
    problem = (e as Error).message;
  } finally {
    await Promise.race([client.close(true).catch(() => undefined), sleep(2000)]);
  }
  return { fill_ms: Math.round(performance.now() - started), rewritten, problem };
}

const kinds = [embeddedStore, ferretdb].filter((k) => !only || k.name === only);
const out = join(repoRoot, 'bench', 'results', 'store.json');
mkdirSync(dirname(out), { recursive: true });
// With --only, the other stores' figures of the previous run are kept.
const kept: { name: string }[] =
  only && existsSync(out) ? ((JSON.parse(readFileSync(out, 'utf8')) as { stores?: { name: string }[] }).stores ?? []).filter((s) => s.name !== only) : [];
const results: { name: string }[] = [];
const skipped: Record<string, string> = {};

function write() {
  const stores = [...results, ...kept].sort((a, b) => (a.name === 'store' ? -1 : b.name === 'store' ? 1 : 0));
  const report = {
    benchmark: 'store',
    date: new Date().toISOString(),
    load_average_at_end: loadavg().map((l) => Math.round(l * 100) / 100),
    machine: { node: process.version, platform: `${platform()} ${release()}`, cpus: cpus().length, cpu_model: cpus()[0]?.model.split(' ').slice(0, 2).join(' ') },
    setup: { docs_per_refresh: docsPerRefresh, sizes, pools, cell_seconds: cellSeconds, op_timeout_ms: opTimeoutMs, driver: 'mongodb 6 (node_modules)', hang: `no answer within ${opTimeoutMs} ms (a deadlock, or slower than that)` },
    stores,
    skipped,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
}

for (const kind of kinds) {
  const why = kind.available();
  if (why) {
    skipped[kind.name] = why;
    console.error(`[${kind.name}] skipped: ${why}`);
    continue;
  }
  results.push(await benchStore(kind));
  write(); // after each store: a later failure keeps what was measured
}
write();
console.error(`wrote ${out}`);
