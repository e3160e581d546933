/**
 * The only module that reads configuration. Sources, later ones winning:
 *   1. the defaults below (they match scripts/services.sh),
 *   2. an optional YAML or JSON file named by FLEETVIEW_CONFIG (nested keys, e.g. `kafka: {topic: x}`),
 *   3. environment variables.
 * Nothing is read at import time: call loadConfig().
 */
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { decodeUtf8, NotUtf8Error } from './domain/utf8.js';

export interface Config {
  temporal: {
    /** gRPC address of the Temporal frontend. */
    address: string;
    namespace: string;
    taskQueue: string;
    /** Base URL of the Temporal Web UI, printed for operators. */
    uiUrl: string;
    tls: TlsSettings;
    /** Temporal Cloud API key, sent as `Authorization: Bearer ...`. */
    apiKey: Secret | undefined;
    /** Payloads larger than this go to the store, history keeps a reference (External Storage). */
    payloadOffloadBytes: number;
    /** Seconds between sweeps of stored payloads no history references any more (0: never). */
    payloadSweepIntervalS: number;
  };
  kafka: {
    brokers: string[];
    clientId: string;
    topic: string;
    topicPartitions: number;
    topicRetentionMs: number;
    /** Codec of the producer's requests. */
    compression: KafkaCompression;
    /** Record bytes per produce request before compression; under the topic's max.message.bytes. */
    maxRequestBytes: number;
    tls: TlsSettings;
    sasl: KafkaSasl;
  };
  mongodb: {
    uri: string;
    database: string;
    /** Bound of every store command, and how long a refresh waits for the store to take its view. */
    timeoutMs: number;
    /** Connections to the store per process: the bound of its concurrency. */
    maxPoolSize: number;
    tls: TlsSettings;
    username: string | undefined;
    password: Secret | undefined;
  };
  agent: {
    timeoutMs: number;
    maxResponseBytes: number;
    caFile: string | undefined;
    certFile: string | undefined;
    keyFile: string | undefined;
    insecureSkipVerify: boolean;
    headers: Record<string, string>;
    /** Node observations in flight per worker, shared by every refresh in turn. */
    maxConcurrentNodes: number;
    /** Node observations in flight per refresh (at most maxConcurrentNodes). */
    maxConcurrentNodesPerCluster: number;
    /** Idle keep-alive connections to agents close after this many ms. */
    idleTimeoutMs: number;
    /** Idle connections kept over all agents; past it, a freed connection stays pooled only 1 s. */
    maxIdleConnections: number;
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
  codec: {
    /** Address the codec server (`fleetview codec-server`) listens on. */
    host: string;
    /** Its port (0: any free port). */
    port: number;
    /** Browser origins allowed to call it (CORS); undefined: the Web UI's (temporal.uiUrl). `*`: any. */
    allowedOrigins: string[] | undefined;
    /** A stored payload larger than this is answered with a note saying what it is, not the data. */
    maxPayloadBytes: number;
    /** Largest request body accepted. */
    maxRequestBytes: number;
  };
  ui: {
    /** Address `fleetview ui` (the fleet page) listens on; off loopback it needs `token`. */
    host: string;
    /** Its port (0: any free port). */
    port: number;
    /** What every request must present (bearer, basic auth password or the login form); undefined: none (loopback only). */
    token: Secret | undefined;
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
    /** Bound of each call into a workflow's V8 context; undefined: none (see adapters/workflow-isolate-watchdog.ts). */
    workflowWatchdogMs: number | undefined;
    /** How long a task waits on this worker's sticky queue before any worker may take it (a dead worker's clusters). */
    stickyQueueTimeoutS: number;
    /** Stack traces in workflow code: the SDK's per-promise traces (the Web UI's Stack Trace tab) and thrown errors' stacks. */
    workflowStackTraces: boolean;
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
  /** Also readable from a file: `<env>_FILE` and file key `<key>File`; its value is never printed. */
  secret?: boolean;
  /** How a secret's bad value may be shown in an error (default: not at all). */
  display?: (raw: unknown) => string;
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

/** A host name or IP address to listen on. */
const listenHost: Parser<string> = (raw) => {
  const value = text(raw);
  if (!/^[A-Za-z0-9.\-:]+$/.test(value)) throw new Error('expected a host name or an IP address, e.g. 127.0.0.1 or 0.0.0.0');
  return value;
};

/** Browser origins (`scheme://host[:port]`, comma separated), or `*` for any. */
const originList: Parser<string[] | undefined> = (raw) => {
  if (raw === '' || raw === null) return undefined;
  const items: unknown[] = (Array.isArray(raw) ? (raw as unknown[]) : text(raw).split(',')).map((item: unknown) => (typeof item === 'string' ? item.trim() : item));
  if (items.length === 0) throw new Error('expected at least one origin');
  return items.map((item) => {
    if (item === '*') return item;
    const problem = `expected origins like http://127.0.0.1:8233 (scheme, host and port; no path), or *, got ${JSON.stringify(item)}`;
    let parsed: URL;
    try {
      parsed = new URL(text(item));
    } catch {
      throw new Error(problem);
    }
    const bare = parsed.pathname === '/' && !parsed.search && !parsed.hash && !parsed.username && !parsed.password;
    if (!['http:', 'https:'].includes(parsed.protocol) || !bare) throw new Error(problem);
    return parsed.origin;
  });
};

const setting = <T>(s: Setting<T>): Setting<T> => s;

/** The fleet page's access token: long enough not to be guessed, one printable line. Its value is never shown. */
const uiToken: Parser<Secret | undefined> = (raw) => {
  if (raw === '' || raw === null) return undefined;
  if (typeof raw !== 'string') throw new Error('expected a string');
  if (raw.length < 16) throw new Error(`expected at least 16 characters (got ${raw.length}), e.g. openssl rand -hex 32`);
  if (/[^\x21-\x7e]/.test(raw)) throw new Error('expected printable ASCII without spaces (it travels in headers, cookies and forms)');
  return new Secret(raw);
};

// ---- Connections to Temporal, Kafka and MongoDB: TLS, credentials, secrets -----------------------

const redacted = '[redacted]';

/** A URL-ish value with the password of its user info masked, for error messages. */
const withoutPassword = (raw: unknown): string => JSON.stringify(String(raw).replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));

/**
 * A secret value (password, API key). Printed, logged, inspected or serialized it reads
 * `[redacted]`; reveal() hands the value to the client that needs it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return redacted;
  }
  toJSON(): string {
    return redacted;
  }
  [inspect.custom](): string {
    return redacted;
  }
}

/** TLS to one service. Files are PEM; `enabled` undefined means: on when anything else here asks for it. */
export interface TlsSettings {
  enabled: boolean | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  /** The name the server's certificate must carry (and SNI), when it differs from the address's host. */
  serverName: string | undefined;
}

export const kafkaSaslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number];

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism | undefined;
  username: string | undefined;
  password: Secret | undefined;
}

const optional =
  <T>(parse: Parser<T>): Parser<T | undefined> =>
  (raw) =>
    raw === '' || raw === null ? undefined : parse(raw);

const secretText: Parser<Secret | undefined> = (raw) => {
  if (raw === '' || raw === null) return undefined;
  if (typeof raw !== 'string') throw new Error('expected a string');
  return new Secret(raw);
};

/** The TLS settings of one service, as `<prefix>_TLS...` variables under the file key `<group>.tls`. */
function tlsSettings(service: string, prefix: string, group: string, whenOn: string) {
  return [
    setting({ key: `${group}.tls.enabled`, env: `${prefix}_TLS`, default: undefined as boolean | undefined, parse: optional(boolean), doc: `TLS to ${service}: true or false; unset: on when ${whenOn}` }),
    setting({ key: `${group}.tls.caFile`, env: `${prefix}_TLS_CA_FILE`, default: undefined, parse: optionalText, doc: `PEM CA bundle that verifies ${service}'s certificate (unset: the system's CAs)` }),
    setting({ key: `${group}.tls.certFile`, env: `${prefix}_TLS_CERT_FILE`, default: undefined, parse: optionalText, doc: `PEM client certificate for mTLS to ${service}` }),
    setting({ key: `${group}.tls.keyFile`, env: `${prefix}_TLS_KEY_FILE`, default: undefined, parse: optionalText, doc: `PEM private key of the ${service} client certificate` }),
    setting({ key: `${group}.tls.serverName`, env: `${prefix}_TLS_SERVER_NAME`, default: undefined, parse: optionalText, doc: `name ${service}'s certificate is checked against (and SNI), when not the address's host` }),
  ];
}

/** TLS, credentials and secrets of the three services. docs/operations.md, "Running against your services", shows them at work. */
const connectionSettings = [
  ...tlsSettings('Temporal', 'FLEETVIEW_TEMPORAL', 'temporal', 'a CA, client certificate, server name or API key is set'),
  setting({ key: 'temporal.apiKey', env: 'FLEETVIEW_TEMPORAL_API_KEY', default: undefined, parse: secretText, secret: true, doc: 'Temporal Cloud API key, sent as a bearer token (turns TLS on unless FLEETVIEW_TEMPORAL_TLS=false)' }),
  ...tlsSettings('Kafka', 'FLEETVIEW_KAFKA', 'kafka', 'a CA, client certificate or SASL mechanism is set'),
  setting({ key: 'kafka.sasl.mechanism', env: 'FLEETVIEW_KAFKA_SASL_MECHANISM', default: undefined, parse: optional(oneOf(kafkaSaslMechanisms)), doc: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512 (unset: no SASL)' }),
  setting({ key: 'kafka.sasl.username', env: 'FLEETVIEW_KAFKA_SASL_USERNAME', default: undefined, parse: optionalText, doc: 'SASL user name (with FLEETVIEW_KAFKA_SASL_MECHANISM)' }),
  setting({ key: 'kafka.sasl.password', env: 'FLEETVIEW_KAFKA_SASL_PASSWORD', default: undefined, parse: secretText, secret: true, doc: 'SASL password (with FLEETVIEW_KAFKA_SASL_MECHANISM)' }),
  ...tlsSettings('MongoDB', 'FLEETVIEW_MONGODB', 'mongodb', 'a CA or client certificate is set (the URI may also say tls=true; mongodb+srv implies it)'),
  setting({ key: 'mongodb.username', env: 'FLEETVIEW_MONGODB_USERNAME', default: undefined, parse: optionalText, doc: 'MongoDB user, when not in the URI' }),
  setting({ key: 'mongodb.password', env: 'FLEETVIEW_MONGODB_PASSWORD', default: undefined, parse: secretText, secret: true, doc: 'password of FLEETVIEW_MONGODB_USERNAME' }),
];

/** Where a secret setting can come from besides its variable and file key: a file holding it. */
export const secretFileEnv = (env: string) => `${env}_FILE`;
const secretFileKey = (key: string) => `${key}File`;

/** A secret's file content: a trailing newline (as `echo` writes) is not part of it. */
function readSecretFile(path: string): string {
  const content = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  if (content === '') throw new Error('the file is empty');
  return content;
}

/**
 * The raw value of a secret setting and where it came from: `<env>`, then `<env>_FILE`, then the
 * config file's `<key>` and `<key>File`. Setting both forms in one place is a problem.
 */
function secretRaw(s: Setting<unknown>, env: NodeJS.ProcessEnv, file: unknown, filePath: string | undefined, problems: string[]): [unknown, string] {
  const fromFile = (where: string, path: unknown): [unknown, string] => {
    if (typeof path !== 'string' || path.trim() === '') {
      problems.push(`${where}: expected a file path`);
      return [undefined, where];
    }
    try {
      return [readSecretFile(path.trim()), `${where}=${path}`];
    } catch (err) {
      problems.push(`${where}=${path}: cannot read the secret (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return [undefined, where];
    }
  };
  const fileEnv = secretFileEnv(s.env);
  if (env[s.env] !== undefined && env[fileEnv] !== undefined) problems.push(`${s.env} and ${fileEnv} are both set: give one`);
  if (env[s.env] !== undefined) return [env[s.env], s.env];
  if (env[fileEnv] !== undefined) return fromFile(fileEnv, env[fileEnv]);
  const inline = readPath(file, s.key);
  const path = readPath(file, secretFileKey(s.key));
  if (inline !== undefined && path !== undefined) problems.push(`${filePath}: ${s.key} and ${secretFileKey(s.key)} are both set: give one`);
  if (inline !== undefined) return [inline, `${filePath}: ${s.key}`];
  if (path !== undefined) return fromFile(`${filePath}: ${secretFileKey(s.key)}`, path);
  return [undefined, ''];
}

/** Settings that only make sense together, and files that must be readable at start. */
function connectionProblems(config: Config): string[] {
  const problems: string[] = [];
  const services = [
    ['FLEETVIEW_TEMPORAL', config.temporal.tls],
    ['FLEETVIEW_KAFKA', config.kafka.tls],
    ['FLEETVIEW_MONGODB', config.mongodb.tls],
  ] as const;
  for (const [prefix, tls] of services) {
    if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) problems.push(`${prefix}_TLS_CERT_FILE and ${prefix}_TLS_KEY_FILE must be set together (mTLS needs both)`);
    if (tls.enabled === false && (tls.caFile || tls.certFile || tls.serverName)) {
      problems.push(`${prefix}_TLS=false, but ${prefix}_TLS_* settings are given: remove them or turn TLS on`);
    }
    for (const [name, path] of [['CA_FILE', tls.caFile], ['CERT_FILE', tls.certFile], ['KEY_FILE', tls.keyFile]] as const) {
      if (!path) continue;
      try {
        accessSync(path, fsConstants.R_OK);
      } catch (err) {
        problems.push(`${prefix}_TLS_${name}=${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
  }
  const sasl = config.kafka.sasl;
  if (sasl.mechanism && (!sasl.username || !sasl.password)) {
    problems.push(`FLEETVIEW_KAFKA_SASL_MECHANISM=${sasl.mechanism} needs FLEETVIEW_KAFKA_SASL_USERNAME and FLEETVIEW_KAFKA_SASL_PASSWORD (or _FILE)`);
  }
  if (!sasl.mechanism && (sasl.username || sasl.password)) {
    problems.push('FLEETVIEW_KAFKA_SASL_USERNAME/PASSWORD are set without FLEETVIEW_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)');
  }
  if (config.mongodb.password && !config.mongodb.username) problems.push('FLEETVIEW_MONGODB_PASSWORD is set without FLEETVIEW_MONGODB_USERNAME');
  return problems;
}

// ---- end of connections ------------------------------------------------------------------------

/** Codecs kafkajs brings; snappy, lz4 and zstd would need codec packages fleetview does not ship. */
export const kafkaCompressions = ['gzip', 'none'] as const;
export type KafkaCompression = (typeof kafkaCompressions)[number];

const kafkaCompression: Parser<KafkaCompression> = (raw) => {
  const value = text(raw).toLowerCase();
  if (['snappy', 'lz4', 'zstd'].includes(value)) throw new Error(`${value} needs a kafkajs codec package that fleetview does not ship: expected one of ${kafkaCompressions.join(', ')}`);
  return oneOf(kafkaCompressions)(raw);
};

/** Defaults of the worker's agent settings (the agent client takes them when not given), from bench figures (docs/concepts.md, "How many at once"). */
export const agentLimitDefaults = {
  /** Node observations in flight per worker, all refreshes together. */
  maxConcurrentNodes: 256,
  /** Node observations in flight per refresh. */
  maxConcurrentNodesPerCluster: 64,
  /** Idle keep-alive connections to agents close after this long: above a 60 s refresh interval. */
  idleTimeoutMs: 75_000,
  /** Idle keep-alive connections kept over all agents (two per node); past it, a freed connection stays pooled only 1 s. */
  maxIdleConnections: 8_192,
} as const;

/** Every setting, its variable, default and meaning. docs/reference/configuration.md's table mirrors this list (test/unit/readme.test.ts checks it). */
export const settings = [
  ...connectionSettings,
  setting({ key: 'temporal.address', env: 'FLEETVIEW_TEMPORAL_ADDRESS', default: '127.0.0.1:7233', parse: hostPort, doc: 'Temporal frontend gRPC address' }),
  setting({ key: 'temporal.namespace', env: 'FLEETVIEW_TEMPORAL_NAMESPACE', default: 'default', parse: text, doc: 'Temporal namespace' }),
  setting({ key: 'temporal.taskQueue', env: 'FLEETVIEW_TASK_QUEUE', default: 'fleetview', parse: text, doc: 'task queue of the fleetview workers' }),
  setting({ key: 'temporal.payloadOffloadBytes', env: 'FLEETVIEW_TEMPORAL_PAYLOAD_OFFLOAD_BYTES', default: 128 * 1024, parse: integer(1024, 1536 * 1024), doc: 'payloads larger than this (a large cluster\'s full observation, continue-as-new input, first events) are kept in the store and referenced from workflow history; under Temporal\'s 512 KiB warning and 2 MiB limit' }),
  setting({ key: 'temporal.payloadSweepIntervalS', env: 'FLEETVIEW_TEMPORAL_PAYLOAD_SWEEP_INTERVAL_S', default: 3600, parse: integer(0, 7 * 24 * 3600), doc: 'seconds between the worker\'s sweeps of stored payloads that no workflow history references any more (0: never)' }),
  setting({ key: 'temporal.uiUrl', env: 'FLEETVIEW_TEMPORAL_UI_URL', default: 'http://127.0.0.1:8233', parse: url(['http:', 'https:']), doc: 'Temporal Web UI, printed for operators' }),
  setting({ key: 'kafka.brokers', env: 'FLEETVIEW_KAFKA_BROKERS', default: ['127.0.0.1:9092'], parse: hostPortList, doc: 'Kafka bootstrap brokers, comma separated' }),
  setting({ key: 'kafka.clientId', env: 'FLEETVIEW_KAFKA_CLIENT_ID', default: 'fleetview', parse: text, doc: 'Kafka client id' }),
  setting({ key: 'kafka.topic', env: 'FLEETVIEW_EVENTS_TOPIC', default: 'fleetview.events', parse: text, doc: 'topic the events are published to (created if missing)' }),
  setting({ key: 'kafka.topicPartitions', env: 'FLEETVIEW_EVENTS_PARTITIONS', default: 3, parse: integer(1, 10_000), doc: 'partitions of the events topic when fleetview creates it' }),
  setting({ key: 'kafka.topicRetentionMs', env: 'FLEETVIEW_EVENTS_RETENTION_MS', default: 7 * 24 * 3600 * 1000, parse: integer(-1, Number.MAX_SAFE_INTEGER), doc: 'retention.ms of the events topic when fleetview creates it (-1: forever)' }),
  setting({ key: 'kafka.compression', env: 'FLEETVIEW_KAFKA_COMPRESSION', default: 'gzip', parse: kafkaCompression, doc: 'compression of the produce requests: gzip or none (snappy, lz4 and zstd are refused: kafkajs has no codec for them built in)' }),
  setting({ key: 'kafka.maxRequestBytes', env: 'FLEETVIEW_KAFKA_MAX_REQUEST_BYTES', default: 900 * 1024, parse: integer(1024, 64 * 1024 * 1024), doc: 'record bytes (before compression) per produce request: a larger publish is split; must stay under the topic\'s max.message.bytes (1 MiB by default), or is cut to fit it' }),
  setting({ key: 'mongodb.uri', env: 'FLEETVIEW_MONGODB_URI', default: 'mongodb://127.0.0.1:27017/', parse: url(['mongodb:', 'mongodb+srv:']), doc: 'MongoDB (or the embedded store of scripts/services.sh) connection string; may hold credentials', secret: true, display: withoutPassword }),
  setting({ key: 'mongodb.database', env: 'FLEETVIEW_MONGODB_DATABASE', default: 'fleetview', parse: text, doc: 'database holding fleetview state' }),
  setting({ key: 'mongodb.timeoutMs', env: 'FLEETVIEW_MONGODB_TIMEOUT_MS', default: 5000, parse: integer(100, 600_000), doc: 'bound of every store operation; a refresh waits this long for the store, then goes on and retries later' }),
  setting({ key: 'mongodb.maxPoolSize', env: 'FLEETVIEW_MONGODB_MAX_POOL_SIZE', default: 8, parse: integer(1, 1_000), doc: 'connections to the store per process (its concurrency bound)' }),
  setting({ key: 'agent.timeoutMs', env: 'FLEETVIEW_AGENT_TIMEOUT_MS', default: 5000, parse: integer(100, 600_000), doc: 'per-request timeout of agent calls (also sent to the agent)' }),
  setting({ key: 'agent.maxResponseBytes', env: 'FLEETVIEW_AGENT_MAX_RESPONSE_BYTES', default: 1024 * 1024, parse: integer(1024, 1024 * 1024 * 1024), doc: 'largest agent response accepted; bigger is a failure of that node' }),
  setting({ key: 'agent.caFile', env: 'FLEETVIEW_AGENT_CA_FILE', default: undefined, parse: optionalText, doc: 'PEM CA bundle to verify agents\' TLS certificates' }),
  setting({ key: 'agent.certFile', env: 'FLEETVIEW_AGENT_CERT_FILE', default: undefined, parse: optionalText, doc: 'PEM client certificate for mTLS to agents' }),
  setting({ key: 'agent.keyFile', env: 'FLEETVIEW_AGENT_KEY_FILE', default: undefined, parse: optionalText, doc: 'PEM private key of the client certificate' }),
  setting({ key: 'agent.insecureSkipVerify', env: 'FLEETVIEW_AGENT_INSECURE_SKIP_VERIFY', default: false, parse: boolean, doc: 'skip TLS verification of agents (explicit opt-in)' }),
  setting({ key: 'agent.headers', env: 'FLEETVIEW_AGENT_HEADERS', default: {}, parse: stringRecord, doc: 'extra headers sent to agents, a JSON object (e.g. a bearer token)', secret: true }),
  setting({ key: 'agent.maxConcurrentNodes', env: 'FLEETVIEW_AGENT_MAX_CONCURRENT_NODES', default: agentLimitDefaults.maxConcurrentNodes, parse: integer(1, 100_000), doc: 'nodes the worker observes at once (each: agent info, then datastore info and shards together), all refreshes sharing it in turn' }),
  setting({ key: 'agent.maxConcurrentNodesPerCluster', env: 'FLEETVIEW_AGENT_MAX_CONCURRENT_NODES_PER_CLUSTER', default: agentLimitDefaults.maxConcurrentNodesPerCluster, parse: integer(1, 100_000), doc: 'nodes one refresh observes at once (capped by FLEETVIEW_AGENT_MAX_CONCURRENT_NODES), so a large cluster leaves slots to the others' }),
  setting({ key: 'agent.idleTimeoutMs', env: 'FLEETVIEW_AGENT_IDLE_TIMEOUT_MS', default: agentLimitDefaults.idleTimeoutMs, parse: integer(1_000, 3_600_000), doc: 'idle keep-alive connections to agents close after this long: keep it above the longest refresh interval (an agent\'s shorter Keep-Alive hint wins)' }),
  setting({ key: 'agent.maxIdleConnections', env: 'FLEETVIEW_AGENT_MAX_IDLE_CONNECTIONS', default: agentLimitDefaults.maxIdleConnections, parse: integer(1, 1_000_000), doc: 'idle keep-alive connections kept over all agents (two per node); past it, a freed connection stays pooled only 1 s, for its node\'s next call' }),
  setting({ key: 'refresh.intervalS', env: 'FLEETVIEW_REFRESH_INTERVAL_S', default: 15, parse: integer(1, 86_400), doc: 'default refresh interval of a cluster, in seconds' }),
  setting({ key: 'discovery.scheduleId', env: 'FLEETVIEW_DISCOVERY_SCHEDULE_ID', default: 'fleetview-discovery', parse: text, doc: 'id of the Temporal Schedule that starts the discovery workflow' }),
  setting({ key: 'discovery.tickS', env: 'FLEETVIEW_DISCOVERY_TICK_S', default: 15, parse: integer(1, 3_600), doc: 'seconds between discovery ticks (each tick runs the discoveries that are due)' }),
  setting({ key: 'discovery.catchupWindowS', env: 'FLEETVIEW_DISCOVERY_CATCHUP_S', default: 60, parse: integer(10, 86_400), doc: 'how late a tick missed while Temporal was down still runs, in seconds' }),
  setting({ key: 'codec.host', env: 'FLEETVIEW_CODEC_HOST', default: '127.0.0.1', parse: listenHost, doc: 'address `fleetview codec-server` listens on (it has no authentication of its own: keep it on loopback or behind your proxy)' }),
  setting({ key: 'codec.port', env: 'FLEETVIEW_CODEC_PORT', default: 8234, parse: integer(0, 65_535), doc: 'port of `fleetview codec-server`, the Web UI\'s codec endpoint (0: any free port)' }),
  setting({ key: 'codec.allowedOrigins', env: 'FLEETVIEW_CODEC_ALLOWED_ORIGINS', default: undefined as string[] | undefined, parse: originList, doc: 'browser origins allowed to call the codec server (CORS), comma separated, or * for any; unset: the origin of FLEETVIEW_TEMPORAL_UI_URL (with both localhost and 127.0.0.1 when it is on loopback)' }),
  setting({ key: 'codec.maxPayloadBytes', env: 'FLEETVIEW_CODEC_MAX_PAYLOAD_BYTES', default: 1024 * 1024, parse: integer(1024, 256 * 1024 * 1024), doc: 'a stored payload larger than this is shown in the Web UI as a note (its size, key and how to read it) instead of its data' }),
  setting({ key: 'codec.maxRequestBytes', env: 'FLEETVIEW_CODEC_MAX_REQUEST_BYTES', default: 8 * 1024 * 1024, parse: integer(1024, 256 * 1024 * 1024), doc: 'largest request body the codec server reads (larger: HTTP 413)' }),
  setting({ key: 'ui.host', env: 'FLEETVIEW_UI_HOST', default: '127.0.0.1', parse: listenHost, doc: 'address `fleetview ui` (the fleet page) listens on; an address off loopback needs FLEETVIEW_UI_TOKEN, or the command refuses to start' }),
  setting({ key: 'ui.port', env: 'FLEETVIEW_UI_PORT', default: 8235, parse: integer(0, 65_535), doc: 'port of `fleetview ui`, the fleet page (0: any free port)' }),
  setting({ key: 'ui.token', env: 'FLEETVIEW_UI_TOKEN', default: undefined, parse: uiToken, secret: true, doc: 'access token of the fleet page, at least 16 characters: every request must carry it (Authorization: Bearer, basic auth password, or the login form\'s cookie); unset: no authentication, loopback only' }),
  setting({ key: 'worker.metricsPort', env: 'FLEETVIEW_METRICS_PORT', default: 9464, parse: integer(0, 65_535), doc: 'port of the worker\'s Prometheus endpoint (0: off)' }),
  setting({ key: 'worker.logLevel', env: 'FLEETVIEW_LOG_LEVEL', default: 'info', parse: oneOf(logLevels), doc: 'log level: debug, info, warn or error' }),
  setting({ key: 'worker.maxCachedWorkflows', env: 'FLEETVIEW_WORKER_MAX_CACHED_WORKFLOWS', default: 5000, parse: integer(0, 1_000_000), doc: 'workflows kept in the worker\'s cache: at least the clusters it refreshes, or each refresh replays its history' }),
  setting({ key: 'worker.maxConcurrentWorkflowTasks', env: 'FLEETVIEW_WORKER_WORKFLOW_TASKS', default: 40, parse: integer(2, 10_000), doc: 'workflow tasks the worker runs at once' }),
  setting({ key: 'worker.workflowWatchdogMs', env: 'FLEETVIEW_WORKER_WORKFLOW_WATCHDOG_MS', default: undefined as number | undefined, parse: optional(integer(100, 600_000)), doc: 'bound of each call into workflow code, after which its workflow task fails as a potential deadlock; unset: none. The SDK\'s own 5 s watchdog costs a thread per call (about a quarter of the worker\'s CPU at 1,000 × 3)' }),
  setting({ key: 'worker.stickyQueueTimeoutS', env: 'FLEETVIEW_WORKER_STICKY_QUEUE_TIMEOUT_S', default: 8, parse: integer(1, 600), doc: 'seconds a cluster\'s workflow task waits for the worker that ran it last before any worker takes it: bounds the takeover of a dead worker\'s clusters (one interval + this); too short for a loaded worker costs replays' }),
  setting({ key: 'worker.workflowStackTraces', env: 'FLEETVIEW_WORKER_WORKFLOW_STACK_TRACES', default: false, parse: boolean, doc: 'stack traces in workflow code: the Web UI\'s Stack Trace tab and the stack of an error a workflow throws; off: the SDK records none for every promise a workflow makes (at 1,000 × 3, 16 to 21% less worker CPU and 30 to 100 MB less memory)' }),
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
  const known = new Set(settings.flatMap((s) => ('secret' in s && s.secret ? [s.key, secretFileKey(s.key)] : [s.key])));
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
    raw = decodeUtf8(readFileSync(path));
  } catch (err) {
    if (err instanceof NotUtf8Error) throw new ConfigError([`${configFileEnv}=${path}: ${err.message}`]);
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
    const isSecret = 'secret' in s && s.secret === true;
    const [raw, where] = isSecret
      ? secretRaw(s, env, file, filePath, problems)
      : fromEnv !== undefined ? [fromEnv, s.env] : fromFile !== undefined ? [fromFile, `${filePath}: ${s.key}`] : [undefined, ''];
    if (raw === undefined) {
      writePath(config, s.key, s.default);
      continue;
    }
    try {
      writePath(config, s.key, s.parse(raw));
    } catch (err) {
      // A secret's value is never printed: its variable (or file) names it well enough.
      const display = 'display' in s ? s.display : undefined;
      const value = !isSecret ? JSON.stringify(raw) : display ? display(raw) : redacted;
      const shown = isSecret && where.includes('=') ? where : `${where}=${value}`;
      problems.push(`${shown}: ${(err as Error).message}`);
    }
  }
  const agent = config.agent as Config['agent'];
  if (Boolean(agent.certFile) !== Boolean(agent.keyFile)) {
    problems.push('FLEETVIEW_AGENT_CERT_FILE and FLEETVIEW_AGENT_KEY_FILE must be set together (mTLS needs both)');
  }
  if (problems.length === 0) problems.push(...connectionProblems(config as unknown as Config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config as unknown as Config;
}
