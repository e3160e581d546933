/**
 * Which Temporal the benchmark runs on (`--temporal`): `dev`, the dev server of scripts/services.sh
 * (one process, SQLite), or `cluster`, its `--profile cluster` (PostgreSQL, one process per
 * Temporal service, three Kafka brokers and a store of its own, on ports of their own).
 *
 * - The settings that point the worker, the CLI and the benchmark's clients at the profile are
 *   the ones `scripts/services.sh --profile cluster env` prints, read, not copied: the script
 *   owns its ports.
 * - CPU and RSS: the process groups of every process of the profile, from the script's pid files
 *   in its run folder (the script starts each with setsid), and PostgreSQL's process tree under
 *   its postmaster (every backend calls setsid: a group each, coming and going).
 * - The size of Temporal's database when a run starts, since it moves the figures (a dev server
 *   on a large SQLite file was slower to onboard: docs/benchmarks.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import { processGroupOf } from './processes.js';
import { cacheDir, clusterDir, parseServicesEnv, profileArgs, readPidFile, servicePgids, servicesScript, type TemporalKind } from './services.js';

/** The FLEETVIEW_* settings of the profile: none for `dev` (the configuration's defaults are the dev services'). */
export function profileEnv(root: string, temporal: TemporalKind): Record<string, string> {
  if (temporal === 'dev') return {};
  const args = [servicesScript(root), ...profileArgs(temporal), 'env'];
  const result = spawnSync('bash', args, { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`scripts/services.sh ${args.slice(1).join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  const env = parseServicesEnv(result.stdout);
  if (!env.FLEETVIEW_TEMPORAL_ADDRESS) throw new Error(`scripts/services.sh ${args.slice(1).join(' ')} printed no FLEETVIEW_TEMPORAL_ADDRESS:\n${result.stdout}`);
  return env;
}

/**
 * The services' process groups, per line of the results; a name may cover several (summed).
 * PostgreSQL is a process tree instead: each backend leaves the postmaster's group (setsid).
 */
export type ServiceGroups = Record<'temporal' | 'kafka' | 'store', number[] | null> & { postgres: { tree: number } | null };

/** What a pid file's process runs (its command line), so a recycled pid is not taken for the profile's. */
const markers: [RegExp, string][] = [
  [/^temporal-/, 'temporal-server'],
  [/^kafka-/, 'kafka.Kafka'],
  [/^store$/, 'FleetviewStore'],
  [/^postgres$/, 'postgres'],
];

/** A process's command line, arguments joined by spaces ('' when it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The pid of the cluster profile's process `name` (its pid file), when it runs. */
function clusterPid(name: string): number | null {
  const pid = readPidFile(join(clusterDir(), 'run', `${name}.pid`));
  if (pid === null) return null;
  const marker = markers.find(([pattern]) => pattern.test(name))?.[1];
  return marker !== undefined && !commandLine(pid).includes(marker) ? null : pid;
}

function clusterGroup(name: string): number | null {
  const pid = clusterPid(name);
  return pid === null ? null : processGroupOf(pid);
}

/** Names of the cluster profile's pid files starting with `prefix` (temporal-frontend, temporal-history-1, ...; kafka-1, ...). */
function clusterPidNames(prefix: string, except: readonly string[] = []): string[] {
  try {
    return readdirSync(join(clusterDir(), 'run'))
      .filter((file) => file.startsWith(prefix) && file.endsWith('.pid'))
      .map((file) => file.slice(0, -'.pid'.length))
      .filter((name) => !except.includes(name))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The process groups of the profile's services. Cluster: Temporal is every temporal-* process
 * but the Web UI (frontend, each history, matching, worker: whatever the script runs), Kafka every
 * broker; a service none of whose processes runs is null. The Web UI is left out, as the dev
 * server's is not (it is in the dev server's process).
 */
export function serviceGroups(temporal: TemporalKind): ServiceGroups {
  if (temporal === 'dev') {
    const pgids = servicePgids();
    const one = (pgid: number | null): number[] | null => (pgid === null ? null : [pgid]);
    return { temporal: one(pgids.temporal), postgres: null, kafka: one(pgids.kafka), store: one(pgids.store) };
  }
  const groups = (names: string[]): number[] | null => {
    const pgids = names.map(clusterGroup).filter((pgid): pgid is number => pgid !== null);
    return pgids.length === 0 ? null : [...new Set(pgids)];
  };
  const postmaster = clusterPid('postgres');
  return {
    temporal: groups(clusterPidNames('temporal-', ['temporal-ui'])),
    postgres: postmaster === null ? null : { tree: postmaster },
    kafka: groups(clusterPidNames('kafka-')),
    store: groups(['store']),
  };
}

/**
 * What changed in the services' processes between two readings, one line per service: a process
 * restarted, stopped or started meanwhile leaves that service's window figures null (or partial).
 */
export function serviceChanges(before: ServiceGroups, after: ServiceGroups): string[] {
  const text = (groups: ServiceGroups[keyof ServiceGroups]): string =>
    groups === null ? 'none' : 'tree' in groups ? `the tree under ${groups.tree}` : `groups ${groups.join(', ')}`;
  return (Object.keys(before) as (keyof ServiceGroups)[])
    .filter((service) => text(before[service]) !== text(after[service]))
    .map((service) => `${service}: its processes changed during the window (restarted, stopped or started: ${text(before[service])} → ${text(after[service])}); its CPU and RSS are null`);
}

/** Processes of each service as counted (for the results: the cluster profile's Temporal is several). */
export function serviceProcessNames(temporal: TemporalKind): Record<keyof ServiceGroups, string[]> {
  if (temporal === 'dev') return { temporal: ['temporal'], postgres: [], kafka: ['kafka'], store: ['store'] };
  const running = (names: string[]): string[] => names.filter((name) => clusterGroup(name) !== null);
  return {
    temporal: running(clusterPidNames('temporal-', ['temporal-ui'])),
    postgres: running(['postgres']),
    kafka: running(clusterPidNames('kafka-')),
    store: running(['store']),
  };
}

// --- Temporal's database --------------------------------------------------------------------

export interface TemporalDatabase {
  /** What was measured: the dev server's SQLite file, PostgreSQL's databases, or a data folder on disk. */
  source: string;
  /** The size in bytes (dev: the SQLite file alone; cluster: the temporal and temporal_visibility databases together). */
  bytes: number | null;
  /** The parts: dev `sqlite` and `wal` (its write-ahead log); cluster one per database. */
  parts: Record<string, number>;
  note: string | null;
}

function fileBytes(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

/** Bytes of every file under `dir` (a data folder), null when it cannot be read. */
function folderBytes(dir: string): number | null {
  try {
    let total = 0;
    for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      const stat = lstatSync(join(dir, entry), { throwIfNoEntry: false });
      if (stat?.isFile()) total += stat.size;
    }
    return total;
  } catch {
    return null;
  }
}

/** psql: Debian's wrapper on the PATH, else the newest server install's own (what scripts/services.sh uses). */
function psqlBinary(): string | null {
  if (spawnSync('sh', ['-c', 'command -v psql'], { stdio: 'ignore' }).status === 0) return 'psql';
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join('/usr/lib/postgresql', version, 'bin', 'psql');
      if (existsSync(bin)) return bin;
    }
  } catch {
    // No server install.
  }
  return null;
}

/** Rows of `sql` on the cluster profile's PostgreSQL through psql (the script's loopback superuser), bounded; null when psql cannot tell. */
function postgresRows(sql: string): string[][] | null {
  const psql = psqlBinary();
  if (psql === null) return null;
  const port = process.env.FLEETVIEW_CLUSTER_PG_PORT ?? '15432';
  const result = spawnSync(psql, ['-h', '127.0.0.1', '-p', port, '-U', 'temporal', '-d', 'postgres', '-X', '-q', '-t', '-A', '-F', ' ', '-c', sql], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, PGPASSWORD: 'temporal', PGCONNECT_TIMEOUT: '3' },
  });
  if (result.status !== 0) return null;
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((row) => row.length > 1 && row[0] !== '');
}

/** Writes to Temporal's databases since PostgreSQL started (pg_stat_database), per database. */
export type PostgresActivity = Record<string, { transactions: number; rows_inserted: number; rows_updated: number; rows_deleted: number }>;

/** The cluster profile's write counters now; null on the dev server or when psql cannot tell. */
export function postgresActivity(temporal: TemporalKind): PostgresActivity | null {
  if (temporal !== 'cluster') return null;
  const rows = postgresRows(
    "SELECT datname, xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname IN ('temporal', 'temporal_visibility') ORDER BY datname",
  );
  if (rows === null || rows.length === 0) return null;
  return Object.fromEntries(rows.map(([name, transactions, inserted, updated, deleted]) => [name!, { transactions: Number(transactions), rows_inserted: Number(inserted), rows_updated: Number(updated), rows_deleted: Number(deleted) }]));
}

/** Writes over a window, per database, and per refresh done in it (null: not measured). */
export function postgresWrites(before: PostgresActivity | null, after: PostgresActivity | null, refreshes: number | null) {
  if (before === null || after === null) return null;
  const perRefresh = (value: number) => (refreshes ? Math.round((value / refreshes) * 100) / 100 : null);
  return Object.fromEntries(
    Object.entries(after).map(([name, counters]) => {
      const start = before[name] ?? { transactions: 0, rows_inserted: 0, rows_updated: 0, rows_deleted: 0 };
      const transactions = counters.transactions - start.transactions;
      const rows = counters.rows_inserted + counters.rows_updated + counters.rows_deleted - (start.rows_inserted + start.rows_updated + start.rows_deleted);
      return [name, { transactions, rows_written: rows, transactions_per_refresh: perRefresh(transactions), rows_written_per_refresh: perRefresh(rows) }];
    }),
  );
}

/** The cluster profile's database sizes; null when psql cannot tell. */
function postgresSizes(): Record<string, number> | null {
  const rows = postgresRows("SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility') ORDER BY datname");
  if (rows === null) return null;
  const sizes: Record<string, number> = {};
  for (const [name, bytes] of rows) if (name && bytes && /^\d+$/.test(bytes)) sizes[name] = Number(bytes);
  return Object.keys(sizes).length > 0 ? sizes : null;
}

/** The size of Temporal's database now. */
export function temporalDatabase(temporal: TemporalKind): TemporalDatabase {
  if (temporal === 'dev') {
    const file = join(process.env.FLEETVIEW_DATA_DIR ?? join(cacheDir(), 'data'), 'temporal', 'temporal.sqlite');
    const bytes = fileBytes(file);
    const wal = fileBytes(`${file}-wal`);
    return {
      source: file,
      bytes,
      parts: { ...(bytes === null ? {} : { sqlite: bytes }), ...(wal === null ? {} : { wal }) },
      note: bytes === null ? `no ${file}: a dev server not started by scripts/services.sh, or another data folder` : null,
    };
  }
  const sizes = postgresSizes();
  if (sizes !== null) {
    return { source: 'SELECT pg_database_size(...) through psql (temporal, temporal_visibility)', bytes: Object.values(sizes).reduce((a, b) => a + b, 0), parts: sizes, note: null };
  }
  const dir = process.env.FLEETVIEW_CLUSTER_PG_DATA ?? join(clusterDir(), 'data', 'postgres');
  return { source: dir, bytes: folderBytes(dir), parts: {}, note: 'psql could not tell the database sizes: the whole PostgreSQL data folder on disk (WAL and every database)' };
}

/** Which Temporal a run used, for the results. */
export interface TemporalTarget {
  profile: TemporalKind;
  address: string;
  namespace: string;
  /** The processes whose CPU and RSS count as each service (cluster: one per Temporal service, per broker). */
  processes: Record<keyof ServiceGroups, string[]>;
  database_at_start: TemporalDatabase;
}

export function temporalTarget(temporal: TemporalKind, config: Config): TemporalTarget {
  return {
    profile: temporal,
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    processes: serviceProcessNames(temporal),
    database_at_start: temporalDatabase(temporal),
  };
}

/** "SQLite 10.0 MB" / "PostgreSQL 81.3 MB", for the tables. */
export function databaseText(temporal: TemporalKind, database: TemporalDatabase): string {
  const mb = database.bytes === null ? '?' : `${(database.bytes / 2 ** 20).toFixed(1)} MB`;
  return temporal === 'dev' ? `SQLite ${mb}` : `PostgreSQL ${mb}${database.parts.temporal === undefined ? ' (data folder)' : ''}`;
}
