/**
 * The three servers as the benchmark sees them: started through scripts/services.sh when they
 * do not answer (and only those stopped at the end), their process groups found from the
 * script's pid files (for CPU and RSS), and the versions that go into the results. `temporal`
 * picks the script's profile: `dev` its default (the Temporal dev server), `cluster` its
 * `--profile cluster` (bench/fleet/temporal-profile.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, homedir, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { openClients } from '../../src/adapters/clients.js';
import { checkServices, checkTemporal } from '../../src/adapters/service-health.js';
import type { Config } from '../../src/config.js';

/** checkServices' names and scripts/services.sh's. */
const scriptNames = { temporal: 'temporal', kafka: 'kafka', mongodb: 'store' } as const;
export type ServiceName = (typeof scriptNames)[keyof typeof scriptNames];
export const serviceNames: readonly ServiceName[] = Object.values(scriptNames);
/** The cluster profile's services also count PostgreSQL, which its Temporal needs. */
export type ProfileServiceName = ServiceName | 'postgres';

/** Which Temporal the benchmark runs on: the dev server of the script's default profile, or its cluster profile. */
export type TemporalKind = 'dev' | 'cluster';

/** The variables `scripts/services.sh [--profile NAME] env` prints, `export NAME=VALUE` per line. */
export function parseServicesEnv(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.startsWith('export '))
      .map((line) => {
        const [name, ...value] = line.slice('export '.length).split('=');
        return [name!, value.join('=')];
      }),
  );
}

export function servicesScript(root: string): string {
  return join(root, 'scripts', 'services.sh');
}

/** The script's arguments that pick the profile of `temporal`. */
export function profileArgs(temporal: TemporalKind): string[] {
  return temporal === 'cluster' ? ['--profile', 'cluster'] : [];
}

/**
 * Starts the services that do not answer (`config` points at the profile's); returns the names
 * started (to stop at the end). The cluster profile's `start temporal` brings PostgreSQL up too:
 * when it was not running before, it is one of the names started.
 */
export async function ensureServices(config: Config, root: string, log: (line: string) => void, temporal: TemporalKind = 'dev'): Promise<ProfileServiceName[]> {
  const down = (await checkServices(config, 3000)).filter((health) => !health.ok);
  if (down.length === 0) return [];
  const names: ProfileServiceName[] = down.map((health) => scriptNames[health.service]);
  const postgresWasUp = temporal === 'cluster' && clusterPidAlive('postgres');
  const args = [servicesScript(root), ...profileArgs(temporal), 'start', ...names];
  log(`starting ${names.join(', ')} with scripts/services.sh${temporal === 'cluster' ? ' --profile cluster' : ''} (a first run installs them: minutes)`);
  const result = spawnSync('bash', args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  if (result.status !== 0) throw new Error(`scripts/services.sh ${args.slice(1).join(' ')} failed (${result.status ?? result.signal})`);
  // To stop at the end as well (the script stops the profile's services in its own order: Temporal before its database).
  if (temporal === 'cluster' && names.includes('temporal') && !postgresWasUp) names.push('postgres');
  return names;
}

export function stopServices(root: string, names: readonly ProfileServiceName[], temporal: TemporalKind = 'dev'): void {
  if (names.length > 0) spawnSync('bash', [servicesScript(root), ...profileArgs(temporal), 'stop', ...names], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
}

/** Installs the Debian tools (prometheus) through the script when missing; true when it is there afterwards. */
export function ensureTool(root: string, tool: string): boolean {
  if (commandExists(tool)) return true;
  spawnSync('bash', [servicesScript(root), 'tools'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  return commandExists(tool);
}

function commandExists(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** scripts/services.sh's cache folder (FLEETVIEW_CACHE_DIR). */
export function cacheDir(): string {
  return process.env.FLEETVIEW_CACHE_DIR ?? join(homedir(), '.cache', 'fleetview');
}

function runDir(): string {
  return process.env.FLEETVIEW_RUN_DIR ?? join(cacheDir(), 'run');
}

/** The cluster profile's folder (FLEETVIEW_CLUSTER_DIR): its data/ and run/ (pid files and logs). */
export function clusterDir(): string {
  return process.env.FLEETVIEW_CLUSTER_DIR ?? join(cacheDir(), 'cluster');
}

/** Whether the cluster profile's process `name` (its pid file's name) is alive. */
export function clusterPidAlive(name: string): boolean {
  const pid = readPidFile(join(clusterDir(), 'run', `${name}.pid`));
  return pid !== null;
}

/** The live pid a pid file names, else null. */
export function readPidFile(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim().split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** The log file scripts/services.sh writes for a server it started (it may not exist). */
export function serviceLogFile(name: ServiceName): string {
  return join(runDir(), `${name}.log`);
}

/**
 * The process group of each server started by scripts/services.sh (its pid files; the script
 * starts each with setsid, so the pid is the group id). A server started some other way (Docker,
 * by hand) has no pid file: its costs are reported as null.
 */
export function servicePgids(): Record<ServiceName, number | null> {
  const read = (name: ServiceName): number | null => readPidFile(join(runDir(), `${name}.pid`));
  return { temporal: read('temporal'), kafka: read('kafka'), store: read('store') };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function firstLine(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export interface Versions {
  node: string;
  temporal_cli: string | null;
  temporal_server: string | null;
  kafka: string | null;
  store: string | null;
  prometheus: string | null;
}

export async function versions(config: Config, root: string, temporal: TemporalKind = 'dev'): Promise<Versions> {
  // The CLI's path is what `scripts/services.sh env` prints as FLEETVIEW_TEMPORAL_CLI.
  const env = spawnSync('bash', [servicesScript(root), 'env'], { encoding: 'utf8' }).stdout ?? '';
  const temporalCli = parseServicesEnv(env).FLEETVIEW_TEMPORAL_CLI;
  const server = await checkTemporal(config, 3000);
  return {
    node: process.version,
    temporal_cli: temporalCli ? firstLine(temporalCli, ['--version']) : null,
    temporal_server: server.ok ? server.detail : null,
    kafka: kafkaVersion(temporal === 'cluster' ? readPidFile(join(clusterDir(), 'run', 'kafka-1.pid')) : servicePgids().kafka),
    store: await storeVersion(config),
    prometheus: firstLine('prometheus', ['--version']),
  };
}

/** Kafka does not tell its version over the wire; the script's install path in the running broker's classpath does. */
function kafkaVersion(pgid: number | null): string | null {
  if (pgid === null) return null;
  try {
    const cmdline = readFileSync(`/proc/${pgid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const version = /\/kafka\/([\w.-]+)\/libs\//.exec(cmdline)?.[1];
    return version ? `Apache Kafka ${version} (KRaft)` : null;
  } catch {
    return null;
  }
}

async function storeVersion(config: Config): Promise<string | null> {
  const clients = openClients(config, { connectTimeoutMs: 3000 });
  try {
    const info = await (await clients.clusterStore()).db.admin().command({ buildInfo: 1 });
    const ferretdb = typeof info.ferretdbVersion === 'string' ? `FerretDB ${info.ferretdbVersion} (wire version ${String(info.version)})` : null;
    return ferretdb ?? `MongoDB ${String(info.version)}`;
  } catch {
    return null;
  } finally {
    await clients.close();
  }
}

export interface Machine {
  cores: number;
  cpu_model: string;
  memory_gb: number;
  load_average_at_start: number[];
  platform: string;
  /** cpuCalibrationMs() at the start: how fast this machine ran a fixed workload that day. */
  calibration_ms: number;
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    load_average_at_start: loadAverage(),
    platform: `${platform()} ${release()}`,
    calibration_ms: cpuCalibrationMs(),
  };
}

/** The machine in one log line, with its calibration (runs of other days compare with it). */
export function describeMachine(m: Machine): string {
  return `machine: ${m.cores} cores, ${m.cpu_model}; calibration ${m.calibration_ms} ms (a fixed workload: compare runs of other days with it)`;
}

/** The 1, 5 and 15 minute load averages, to two decimals. */
export function loadAverage(): number[] {
  return loadavg().map((load) => Math.round(load * 100) / 100);
}

/**
 * The median of 5 runs, in ms, of a fixed single-threaded workload shaped like a worker's
 * (200,000 small objects built, serialised to JSON and parsed back). Machines of the same model
 * and core count ran the same code at 1,000 x 3 much slower on one day than on another (shared
 * hosts; onboarding 2.3x longer): results from different sessions compare only with this beside them.
 */
export function cpuCalibrationMs(): number {
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    const objects = Array.from({ length: 200_000 }, (_, i) => ({ id: i, name: `node-${i}`, up: i % 3 !== 0, shards: [i, i + 1] }));
    const parsed = JSON.parse(JSON.stringify(objects)) as unknown[];
    if (parsed.length !== objects.length) throw new Error('calibration workload lost objects');
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[2]!);
}

export function gitCommit(root: string): { commit: string | null; dirty: boolean | null } {
  const commit = firstLine('git', ['-C', root, 'rev-parse', 'HEAD']);
  let dirty: boolean | null = null;
  try {
    dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    dirty = null;
  }
  return { commit, dirty };
}
