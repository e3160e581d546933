/**
 * The chaos run against the cluster profile of scripts/services.sh (`--temporal cluster`): a
 * self-hosted Temporal of five processes on PostgreSQL (frontend, history-1 and history-2,
 * matching, worker), three KRaft Kafka nodes (replication factor 3, min.insync.replicas 2) and a
 * store on 27117. Its ports are fixed and shared: the run starts what does not run (it never
 * stops or cleans the profile), keeps to names of its own (task queue, database, topic,
 * schedule, discovery, cluster ids), and its faults hit one process at a time: SIGKILL to one
 * history process or one Kafka node (services.sh starts each with setsid and writes its pid,
 * the process group's leader, into <cluster dir>/run/<process>.pid), then
 * `services.sh --profile cluster start temporal|kafka`, which starts only the processes of the
 * service that do not run (cluster_start skips every process whose pid file names a live
 * process) and waits until each is ready. Whatever the run killed and has not started again is
 * started again by its cleanup.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { delay } from '../fleet/processes.js';
import { parseServicesEnv, processAlive, readPidFile, servicesScript } from '../fleet/services.js';
import { commandLine } from '../fleet/temporal-profile.js';

/** The cluster profile's processes the chaos run may kill, and the service that starts each again. */
export type ProfileProc = `temporal-history-${number}` | `kafka-${number}`;
export type ProfileService = 'temporal' | 'kafka';

export interface ClusterProfile {
  readonly kind: 'cluster';
  /** The profile's folder (data and run): reported, never deleted. */
  readonly dir: string;
  /** FLEETVIEW_* settings that point fleetview at the profile (`services.sh --profile cluster env`). */
  readonly clientEnv: Record<string, string>;
  /** What `status` said when the run began, and what the run had to start. */
  readonly foundDown: string[];
  readonly historyProcs: string[];
  readonly kafkaProcs: string[];
  /** The live pid (= process group) of a process, or null. */
  pid(proc: string): number | null;
  /** SIGKILL to the process's group; resolves once its leader is gone. */
  kill(proc: ProfileProc): Promise<{ pid: number }>;
  /** `services.sh --profile cluster start SERVICE`: starts the service's processes that do not run, waits until ready. */
  startMissing(service: ProfileService): Promise<{ output: string }>;
  /** The tail of a process's log (post-mortems). */
  logFile(proc: string): string;
  /** Starts again what the run killed and did not start again. Never stops anything. */
  dispose(): Promise<void>;
}

const serviceOf = (proc: string): ProfileService => (proc.startsWith('kafka-') ? 'kafka' : 'temporal');

function clusterDir(): string {
  const cache = process.env.FLEETVIEW_CACHE_DIR ?? join(homedir(), '.cache', 'fleetview');
  return process.env.FLEETVIEW_CLUSTER_DIR ?? join(cache, 'cluster');
}

/**
 * The dynamic config the running Temporal processes read (data/temporal/dynamicconfig.yaml, as
 * services.sh wrote it from FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG at the profile's last start), as
 * K=V pairs: every `start temporal` writes the file again from its own environment, and the
 * running processes poll it (every 10 s), so a restart with another environment would change
 * the settings of the processes the run did not touch.
 */
function dynamicConfigPairs(dir: string): string | null {
  const file = join(dir, 'data', 'temporal', 'dynamicconfig.yaml');
  if (!existsSync(file)) return null;
  const pairs: string[] = [];
  let key: string | null = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const keyLine = /^([A-Za-z0-9_.]+):\s*$/.exec(line);
    if (keyLine) {
      key = keyLine[1]!;
      continue;
    }
    const valueLine = /^\s+- value:\s*(\S+)\s*$/.exec(line);
    if (valueLine && key !== null) {
      pairs.push(`${key}=${valueLine[1]}`);
      key = null;
    }
  }
  return pairs.join(' ');
}

export async function useClusterProfile(root: string, log: (line: string) => void): Promise<ClusterProfile> {
  const dir = clusterDir();
  const runDir = join(dir, 'run');
  const call = (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<{ code: number; output: string }> =>
    new Promise((resolve) => {
      execFile('bash', [servicesScript(root), '--profile', 'cluster', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}`.trim() });
      });
    });

  // What runs now (status exits 1 when something is down or unhealthy).
  const status = await call(['status'], {}, 120_000);
  const foundDown = status.output
    .split('\n')
    .filter((line) => /^\S+\s+(down|starting or unhealthy)/.test(line))
    .map((line) => line.split(/\s+/)[0]!);
  if (status.code !== 0) {
    log(`cluster profile: not everything runs (${foundDown.join(', ') || 'status failed'}); starting what does not (services.sh --profile cluster start; it is left running)`);
    const started = await call(['start'], {}, 1_800_000);
    if (started.code !== 0) throw new Error(`scripts/services.sh --profile cluster start failed (${started.code}):\n${started.output.split('\n').slice(-30).join('\n')}`);
  } else log('cluster profile: every process runs');

  const env = await call(['env'], {}, 60_000);
  if (env.code !== 0) throw new Error(`scripts/services.sh --profile cluster env failed:\n${env.output}`);
  const printed = parseServicesEnv(env.output);
  const clientEnv: Record<string, string> = Object.fromEntries(
    ['FLEETVIEW_TEMPORAL_ADDRESS', 'FLEETVIEW_TEMPORAL_NAMESPACE', 'FLEETVIEW_TEMPORAL_UI_URL', 'FLEETVIEW_KAFKA_BROKERS', 'FLEETVIEW_MONGODB_URI'].flatMap((name) => (printed[name] ? [[name, printed[name]]] : [])),
  );
  for (const name of ['FLEETVIEW_TEMPORAL_ADDRESS', 'FLEETVIEW_KAFKA_BROKERS', 'FLEETVIEW_MONGODB_URI']) {
    if (!clientEnv[name]) throw new Error(`scripts/services.sh --profile cluster env printed no ${name}:\n${env.output}`);
  }

  const statusNow = (await call(['status'], {}, 120_000)).output;
  const procs = statusNow
    .split('\n')
    .map((line) => line.split(/\s+/)[0] ?? '')
    .filter(Boolean);
  const historyProcs = procs.filter((proc) => /^temporal-history-\d+$/.test(proc));
  const kafkaProcs = procs.filter((proc) => /^kafka-\d+$/.test(proc));
  if (historyProcs.length < 2) throw new Error(`the cluster profile has ${historyProcs.length} history processes; killing one needs at least two:\n${statusNow}`);
  if (kafkaProcs.length < 3) throw new Error(`the cluster profile has ${kafkaProcs.length} Kafka nodes; killing one needs three:\n${statusNow}`);

  // A pid from a pid file counts only while its command line is still the process's (a pid can be reused).
  const marker = (proc: string): ((cmdline: string) => boolean) =>
    proc.startsWith('kafka-') ? (cmdline) => cmdline.includes('kafka.Kafka') && cmdline.includes(`/${proc}/server.properties`) : (cmdline) => cmdline.includes('temporal-server') && /--service history\b/.test(cmdline);
  const pid = (proc: string): number | null => {
    const value = readPidFile(join(runDir, `${proc}.pid`));
    return value !== null && marker(proc)(commandLine(value)) ? value : null;
  };
  for (const proc of [...historyProcs, ...kafkaProcs]) if (pid(proc) === null) throw new Error(`${proc}: no live process in ${join(runDir, `${proc}.pid`)} (not started by services.sh --profile cluster?)`);

  // Keep the running processes' dynamic config when a restart writes the file again.
  const dynamicConfig = process.env.FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG ?? dynamicConfigPairs(dir) ?? '';
  const killed = new Set<string>();

  const profile: ClusterProfile = {
    kind: 'cluster',
    dir,
    clientEnv,
    foundDown,
    historyProcs,
    kafkaProcs,
    pid,
    async kill(proc) {
      const group = pid(proc);
      if (group === null) throw new Error(`${proc} does not run: nothing to kill`);
      killed.add(proc);
      process.kill(-group, 'SIGKILL');
      const deadline = Date.now() + 20_000;
      while (processAlive(group) && Date.now() < deadline) await delay(100);
      if (processAlive(group)) throw new Error(`${proc} (pid ${group}) still alive 20 s after SIGKILL`);
      return { pid: group };
    },
    async startMissing(service) {
      const result = await call(['start', service], { FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG: dynamicConfig });
      // status at the end of start exits 1 when a process of the service is not up.
      if (result.code !== 0) throw new Error(`scripts/services.sh --profile cluster start ${service} failed (${result.code}):\n${result.output.split('\n').slice(-30).join('\n')}`);
      for (const proc of [...killed]) if (serviceOf(proc) === service && pid(proc) !== null) killed.delete(proc);
      return { output: result.output };
    },
    logFile: (proc) => join(runDir, `${proc}.log`),
    async dispose() {
      const services = new Set([...killed].filter((proc) => pid(proc) === null).map(serviceOf));
      for (const service of services) {
        log(`starting again what the run killed: services.sh --profile cluster start ${service}`);
        await profile.startMissing(service);
      }
    },
  };
  log(`cluster profile in ${dir}: Temporal ${clientEnv.FLEETVIEW_TEMPORAL_ADDRESS} (history ${historyProcs.join(', ')}), Kafka ${clientEnv.FLEETVIEW_KAFKA_BROKERS}, store ${clientEnv.FLEETVIEW_MONGODB_URI}`);
  return profile;
}
