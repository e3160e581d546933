/**
 * The three servers as the benchmark sees them: started through scripts/services.sh when they
 * do not answer (and only those stopped at the end), their process groups found from the
 * script's pid files (for CPU and RSS), and the versions that go into the results.
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

export function servicesScript(root: string): string {
  return join(root, 'scripts', 'services.sh');
}

/** Starts the services that do not answer; returns the names started (to stop at the end). */
export async function ensureServices(config: Config, root: string, log: (line: string) => void): Promise<ServiceName[]> {
  const down = (await checkServices(config, 3000)).filter((health) => !health.ok);
  if (down.length === 0) return [];
  const names = down.map((health) => scriptNames[health.service]);
  log(`starting ${names.join(', ')} with scripts/services.sh (a first run installs them: minutes)`);
  const result = spawnSync('bash', [servicesScript(root), 'start', ...names], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  if (result.status !== 0) throw new Error(`scripts/services.sh start ${names.join(' ')} failed (${result.status ?? result.signal})`);
  return names;
}

export function stopServices(root: string, names: readonly ServiceName[]): void {
  if (names.length > 0) spawnSync('bash', [servicesScript(root), 'stop', ...names], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
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

function runDir(): string {
  const cache = process.env.FLEETVIEW_CACHE_DIR ?? join(homedir(), '.cache', 'fleetview');
  return process.env.FLEETVIEW_RUN_DIR ?? join(cache, 'run');
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
  const read = (name: ServiceName): number | null => {
    try {
      const pid = Number(readFileSync(join(runDir(), `${name}.pid`), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  };
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

export async function versions(config: Config, root: string): Promise<Versions> {
  // The CLI's path is what `scripts/services.sh env` prints as FLEETVIEW_TEMPORAL_CLI.
  const env = spawnSync('bash', [servicesScript(root), 'env'], { encoding: 'utf8' }).stdout ?? '';
  const temporalCli = /^export FLEETVIEW_TEMPORAL_CLI=(\S+)$/m.exec(env)?.[1];
  const server = await checkTemporal(config, 3000);
  return {
    node: process.version,
    temporal_cli: temporalCli ? firstLine(temporalCli, ['--version']) : null,
    temporal_server: server.ok ? server.detail : null,
    kafka: kafkaVersion(),
    store: await storeVersion(config),
    prometheus: firstLine('prometheus', ['--version']),
  };
}

/** Kafka does not tell its version over the wire; the script's install path in the running broker's classpath does. */
function kafkaVersion(): string | null {
  const pgid = servicePgids().kafka;
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
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    load_average_at_start: loadavg().map((load) => Math.round(load * 100) / 100),
    platform: `${platform()} ${release()}`,
  };
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
