/**
 * The suite's configuration on the real services, with names no other test or earlier run uses
 * (task queue, topic, database), and the same configuration as environment variables for the
 * processes a test starts (a worker, the CLI).
 */
import { loadConfig, type Config } from '../../src/config.js';
import { uniqueName } from './unique.js';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    FLEETVIEW_TASK_QUEUE: uniqueName('fleetview'),
    FLEETVIEW_EVENTS_TOPIC: uniqueName('events'),
    FLEETVIEW_EVENTS_PARTITIONS: '1',
    FLEETVIEW_MONGODB_DATABASE: uniqueName('fleetview').replace(/-/g, '_'),
    FLEETVIEW_METRICS_PORT: '0',
    FLEETVIEW_AGENT_TIMEOUT_MS: '1000',
    FLEETVIEW_LOG_LEVEL: process.env.FLEETVIEW_TEST_LOG_LEVEL ?? 'warn',
    ...overrides,
  });
}

/** The same configuration as environment variables, for a worker or the CLI run as a child process. */
export function configEnv(config: Config): Record<string, string> {
  return {
    FLEETVIEW_TEMPORAL_ADDRESS: config.temporal.address,
    FLEETVIEW_TEMPORAL_NAMESPACE: config.temporal.namespace,
    FLEETVIEW_TASK_QUEUE: config.temporal.taskQueue,
    FLEETVIEW_KAFKA_BROKERS: config.kafka.brokers.join(','),
    FLEETVIEW_EVENTS_TOPIC: config.kafka.topic,
    FLEETVIEW_EVENTS_PARTITIONS: String(config.kafka.topicPartitions),
    FLEETVIEW_MONGODB_URI: config.mongodb.uri,
    FLEETVIEW_MONGODB_DATABASE: config.mongodb.database,
    FLEETVIEW_METRICS_PORT: String(config.worker.metricsPort),
    FLEETVIEW_AGENT_TIMEOUT_MS: String(config.agent.timeoutMs),
    FLEETVIEW_LOG_LEVEL: config.worker.logLevel,
    ...connectionEnv(config),
  };
}

/** The TLS and credential settings of `config` as variables (secrets in clear: for child processes only). */
function connectionEnv(config: Config): Record<string, string> {
  const env: Record<string, string | undefined> = {};
  const tls = (prefix: string, settings: Config['temporal']['tls']) => {
    env[`${prefix}_TLS`] = settings.enabled === undefined ? undefined : String(settings.enabled);
    env[`${prefix}_TLS_CA_FILE`] = settings.caFile;
    env[`${prefix}_TLS_CERT_FILE`] = settings.certFile;
    env[`${prefix}_TLS_KEY_FILE`] = settings.keyFile;
    env[`${prefix}_TLS_SERVER_NAME`] = settings.serverName;
  };
  tls('FLEETVIEW_TEMPORAL', config.temporal.tls);
  tls('FLEETVIEW_KAFKA', config.kafka.tls);
  tls('FLEETVIEW_MONGODB', config.mongodb.tls);
  env.FLEETVIEW_TEMPORAL_API_KEY = config.temporal.apiKey?.reveal();
  env.FLEETVIEW_KAFKA_SASL_MECHANISM = config.kafka.sasl.mechanism;
  env.FLEETVIEW_KAFKA_SASL_USERNAME = config.kafka.sasl.username;
  env.FLEETVIEW_KAFKA_SASL_PASSWORD = config.kafka.sasl.password?.reveal();
  env.FLEETVIEW_MONGODB_USERNAME = config.mongodb.username;
  env.FLEETVIEW_MONGODB_PASSWORD = config.mongodb.password?.reveal();
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
