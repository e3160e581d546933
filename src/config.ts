/**
 * The only module that reads configuration. Sources, later ones winning:
 *   1. the defaults below (they match scripts/services.sh),
 *   2. an optional YAML or JSON file named by FLEETVIEW_CONFIG (nested keys, e.g. `kafka: {topic: x}`),
 *   3. environment variables.
 * Nothing is read at import time: call loadConfig().
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Config {
  temporal: {
    /** gRPC address of the Temporal frontend. */
    address: string;
    namespace: string;
    taskQueue: string;
    /** Base URL of the Temporal Web UI, printed for operators. */
    uiUrl: string;
  };
  kafka: {
    brokers: string[];
    clientId: string;
    topic: string;
    topicPartitions: number;
    topicRetentionMs: number;
  };
  mongodb: {
    uri: string;
    database: string;
    /** Bound of every store command, and how long a refresh waits for the store to take its view. */
    timeoutMs: number;
    /** Connections to the store per process: the bound of its concurrency. */
    maxPoolSize: number;
  };
  agent: {
    timeoutMs: number;
    maxResponseBytes: number;
    caFile: string | undefined;
    certFile: string | undefined;
    keyFile: string | undefined;
    insecureSkipVerify: boolean;
    headers: Record<string, string>;
  };
  refresh: {
    intervalS: number;
  };
  discovery: {
    /** Id of the Temporal Schedule that starts the discovery workflow. */
    scheduleId: string;
    /** Seconds between the schedule's ticks (each starts one discovery run). */
    tickS: number;
    /** How late a missed tick may still run after an outage of the server, in seconds. */
    catchupWindowS: number;
  };
  worker: {
    metricsPort: number;
    logLevel: LogLevel;
    /** Workflows kept in the worker's cache (an evicted workflow replays its history on its next task). */
    maxCachedWorkflows: number;
    /** Workflow tasks run at once. */
    maxConcurrentWorkflowTasks: number;
    /** Local activities (refresh observations and commits) run at once. */
    maxConcurrentLocalActivities: number;
  };
}

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: unknown) => T;

interface Setting<T> {
  /** Dotted path in the config file and in Config. */
  key: string;
  env: string;
  default: T;
  parse: Parser<T>;
  doc: string;
}

const text: Parser<string> = (raw) => {
  if (typeof raw === 'number') return String(raw);
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('expected a non-empty string');
  return raw.trim();
};

const optionalText: Parser<string | undefined> = (raw) => (raw === '' || raw === null ? undefined : text(raw));

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(`expected an integer from ${min} to ${max}`);
    }
    return value;
  };

const boolean: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && ['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (typeof raw === 'string' && ['false', '0', 'no', ''].includes(raw.toLowerCase())) return false;
  throw new Error('expected true or false');
};

const hostPort: Parser<string> = (raw) => {
  const value = text(raw);
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(value)) throw new Error('expected host:port');
  return value;
};

const hostPortList: Parser<string[]> = (raw) => {
  const items = Array.isArray(raw) ? raw : text(raw).split(',');
  if (items.length === 0) throw new Error('expected at least one host:port');
  return items.map((item) => hostPort(typeof item === 'string' ? item.trim() : item));
};

const url =
  (protocols: string[]): Parser<string> =>
  (raw) => {
    const value = text(raw);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new Error(`expected a URL (${protocols.join(' or ')})`);
    }
    if (!protocols.includes(parsed.protocol)) throw new Error(`expected a ${protocols.join(' or ')} URL`);
    return value;
  };

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const value = text(raw).toLowerCase();
    if (!(values as readonly string[]).includes(value)) throw new Error(`expected one of ${values.join(', ')}`);
    return value as T;
  };

const stringRecord: Parser<Record<string, string>> = (raw) => {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return {};
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error('expected a JSON object of strings, e.g. {"Authorization":"Bearer x"}');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object of strings');
  const out: Record<string, string> = {};
  for (const [name, header] of Object.entries(value)) {
    if (typeof header !== 'string') throw new Error(`header ${JSON.stringify(name)} must be a string`);
    out[name] = header;
  }
  return out;
};

const setting = <T>(s: Setting<T>): Setting<T> => s;

/** Every setting, its variable, default and meaning. README's configuration table mirrors this list. */
export const settings = [
  setting({ key: 'temporal.address', env: 'FLEETVIEW_TEMPORAL_ADDRESS', default: '127.0.0.1:7233', parse: hostPort, doc: 'Temporal frontend gRPC address' }),
  setting({ key: 'temporal.namespace', env: 'FLEETVIEW_TEMPORAL_NAMESPACE', default: 'default', parse: text, doc: 'Temporal namespace' }),
  setting({ key: 'temporal.taskQueue', env: 'FLEETVIEW_TASK_QUEUE', default: 'fleetview', parse: text, doc: 'task queue of the fleetview workers' }),
  setting({ key: 'temporal.uiUrl', env: 'FLEETVIEW_TEMPORAL_UI_URL', default: 'http://127.0.0.1:8233', parse: url(['http:', 'https:']), doc: 'Temporal Web UI, printed for operators' }),
  setting({ key: 'kafka.brokers', env: 'FLEETVIEW_KAFKA_BROKERS', default: ['127.0.0.1:9092'], parse: hostPortList, doc: 'Kafka bootstrap brokers, comma separated' }),
  setting({ key: 'kafka.clientId', env: 'FLEETVIEW_KAFKA_CLIENT_ID', default: 'fleetview', parse: text, doc: 'Kafka client id' }),
  setting({ key: 'kafka.topic', env: 'FLEETVIEW_EVENTS_TOPIC', default: 'fleetview.events', parse: text, doc: 'topic the events are published to (created if missing)' }),
  setting({ key: 'kafka.topicPartitions', env: 'FLEETVIEW_EVENTS_PARTITIONS', default: 3, parse: integer(1, 10_000), doc: 'partitions of the events topic when fleetview creates it' }),
  setting({ key: 'kafka.topicRetentionMs', env: 'FLEETVIEW_EVENTS_RETENTION_MS', default: 7 * 24 * 3600 * 1000, parse: integer(-1, Number.MAX_SAFE_INTEGER), doc: 'retention.ms of the events topic when fleetview creates it (-1: forever)' }),
  setting({ key: 'mongodb.uri', env: 'FLEETVIEW_MONGODB_URI', default: 'mongodb://127.0.0.1:27017/', parse: url(['mongodb:', 'mongodb+srv:']), doc: 'MongoDB (or the embedded store of scripts/services.sh) connection string' }),
  setting({ key: 'mongodb.database', env: 'FLEETVIEW_MONGODB_DATABASE', default: 'fleetview', parse: text, doc: 'database holding fleetview state' }),
  setting({ key: 'mongodb.timeoutMs', env: 'FLEETVIEW_MONGODB_TIMEOUT_MS', default: 5000, parse: integer(100, 600_000), doc: 'bound of every store operation; a refresh waits this long for the store, then goes on and retries later' }),
  setting({ key: 'mongodb.maxPoolSize', env: 'FLEETVIEW_MONGODB_MAX_POOL_SIZE', default: 8, parse: integer(1, 1_000), doc: 'connections to the store per process (its concurrency bound)' }),
  setting({ key: 'agent.timeoutMs', env: 'FLEETVIEW_AGENT_TIMEOUT_MS', default: 5000, parse: integer(100, 600_000), doc: 'per-request timeout of agent calls (also sent to the agent)' }),
  setting({ key: 'agent.maxResponseBytes', env: 'FLEETVIEW_AGENT_MAX_RESPONSE_BYTES', default: 1024 * 1024, parse: integer(1024, 1024 * 1024 * 1024), doc: 'largest agent response accepted; bigger is a failure of that node' }),
  setting({ key: 'agent.caFile', env: 'FLEETVIEW_AGENT_CA_FILE', default: undefined, parse: optionalText, doc: 'PEM CA bundle to verify agents\' TLS certificates' }),
  setting({ key: 'agent.certFile', env: 'FLEETVIEW_AGENT_CERT_FILE', default: undefined, parse: optionalText, doc: 'PEM client certificate for mTLS to agents' }),
  setting({ key: 'agent.keyFile', env: 'FLEETVIEW_AGENT_KEY_FILE', default: undefined, parse: optionalText, doc: 'PEM private key of the client certificate' }),
  setting({ key: 'agent.insecureSkipVerify', env: 'FLEETVIEW_AGENT_INSECURE_SKIP_VERIFY', default: false, parse: boolean, doc: 'skip TLS verification of agents (explicit opt-in)' }),
  setting({ key: 'agent.headers', env: 'FLEETVIEW_AGENT_HEADERS', default: {}, parse: stringRecord, doc: 'extra headers sent to agents, a JSON object (e.g. a bearer token)' }),
  setting({ key: 'refresh.intervalS', env: 'FLEETVIEW_REFRESH_INTERVAL_S', default: 15, parse: integer(1, 86_400), doc: 'default refresh interval of a cluster, in seconds' }),
  setting({ key: 'discovery.scheduleId', env: 'FLEETVIEW_DISCOVERY_SCHEDULE_ID', default: 'fleetview-discovery', parse: text, doc: 'id of the Temporal Schedule that starts the discovery workflow' }),
  setting({ key: 'discovery.tickS', env: 'FLEETVIEW_DISCOVERY_TICK_S', default: 15, parse: integer(1, 3_600), doc: 'seconds between discovery ticks (each tick runs the discoveries that are due)' }),
  setting({ key: 'discovery.catchupWindowS', env: 'FLEETVIEW_DISCOVERY_CATCHUP_S', default: 60, parse: integer(10, 86_400), doc: 'how late a tick missed while Temporal was down still runs, in seconds' }),
  setting({ key: 'worker.metricsPort', env: 'FLEETVIEW_METRICS_PORT', default: 9464, parse: integer(0, 65_535), doc: 'port of the worker\'s Prometheus endpoint (0: off)' }),
  setting({ key: 'worker.logLevel', env: 'FLEETVIEW_LOG_LEVEL', default: 'info', parse: oneOf(logLevels), doc: 'log level: debug, info, warn or error' }),
  setting({ key: 'worker.maxCachedWorkflows', env: 'FLEETVIEW_WORKER_MAX_CACHED_WORKFLOWS', default: 5000, parse: integer(0, 1_000_000), doc: 'workflows kept in the worker\'s cache: at least the clusters it refreshes, or each refresh replays its history' }),
  setting({ key: 'worker.maxConcurrentWorkflowTasks', env: 'FLEETVIEW_WORKER_WORKFLOW_TASKS', default: 40, parse: integer(2, 10_000), doc: 'workflow tasks the worker runs at once' }),
  setting({ key: 'worker.maxConcurrentLocalActivities', env: 'FLEETVIEW_WORKER_LOCAL_ACTIVITIES', default: 200, parse: integer(1, 10_000), doc: 'local activities (node observations, commits) the worker runs at once' }),
] as const;

/** The variable naming the optional config file. */
export const configFileEnv = 'FLEETVIEW_CONFIG';

function readPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function writePath(tree: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Keys of the file that no setting reads: almost always a typo worth failing on. */
function unknownFileKeys(tree: unknown, prefix = ''): string[] {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) return [];
  const known = new Set(settings.map((s) => s.key));
  const out: string[] = [];
  for (const [name, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (known.has(path)) continue;
    const isGroup = settings.some((s) => s.key.startsWith(`${path}.`));
    if (isGroup) out.push(...unknownFileKeys(value, path));
    else out.push(path);
  }
  return out;
}

function readConfigFile(path: string): unknown {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${configFileEnv}=${path}: cannot read the file (${(err as Error).message})`]);
  }
  try {
    return parseYaml(raw) ?? {}; // YAML is a superset of JSON: one parser for both
  } catch (err) {
    throw new ConfigError([`${configFileEnv}=${path}: not valid YAML or JSON (${(err as Error).message})`]);
  }
}

/** Reads, validates and returns the whole configuration; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const filePath = env[configFileEnv]?.trim() || undefined;
  const file = filePath ? readConfigFile(filePath) : {};
  const problems: string[] = [];
  if (filePath) {
    for (const key of unknownFileKeys(file)) problems.push(`${filePath}: unknown setting '${key}'`);
  }
  const config: Record<string, unknown> = {};
  for (const s of settings) {
    const fromEnv = env[s.env];
    const fromFile = readPath(file, s.key);
    const [raw, where] =
      fromEnv !== undefined ? [fromEnv, s.env] : fromFile !== undefined ? [fromFile, `${filePath}: ${s.key}`] : [undefined, ''];
    if (raw === undefined) {
      writePath(config, s.key, s.default);
      continue;
    }
    try {
      writePath(config, s.key, s.parse(raw));
    } catch (err) {
      problems.push(`${where}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  const agent = config.agent as Config['agent'];
  if (Boolean(agent.certFile) !== Boolean(agent.keyFile)) {
    problems.push('FLEETVIEW_AGENT_CERT_FILE and FLEETVIEW_AGENT_KEY_FILE must be set together (mTLS needs both)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as unknown as Config;
}
