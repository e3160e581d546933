/**
 * The CLI's connections to Temporal, MongoDB and Kafka, opened on first use with short
 * deadlines: a service that does not answer is reported by name and address (exit 4) within
 * seconds, instead of a driver retrying in silence.
 */
import { hostname } from 'node:os';
import { Client, type Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import {
  connectTemporalClient,
  displayMongoUri,
  kafkaSecurity,
  mongoStoreOptions,
  serviceConnectError,
  type ServiceName,
} from '../adapters/connections/index.js';
import { createDiscoveryStore, type DiscoveryStore } from '../adapters/discovery-store.js';
import { createKafkaPublisher, type EventPublisher } from '../adapters/kafka-publisher.js';
import { createLogger } from '../adapters/logger.js';
import { createMongoStore, type ClusterStore } from '../adapters/mongo-store.js';
import { fleetviewDataConverter } from '../adapters/payload-store.js';
import type { Config } from '../config.js';
import { CliError, exitCodes } from './errors.js';
import '../adapters/kafkajs-idle-loop.js';

const connectTimeoutMs = 3000;

export function unreachable(service: ServiceName, address: string, err: unknown): CliError {
  const cause = serviceConnectError(service, address, err);
  const hint =
    cause.problem === 'refused' || cause.problem === 'timeout' || cause.problem === null
      ? 'is it running? (scripts/services.sh status; the address comes from the FLEETVIEW_* settings)'
      : `check the FLEETVIEW_${service.toUpperCase()}_* TLS and credential settings (README, "Running against your services")`;
  return new CliError(exitCodes.unavailable, `cannot reach ${cause.message}\n  ${hint}`);
}

export class Services {
  private temporalClient: Promise<{ client: Client; connection: Connection }> | undefined;
  private mongo: Promise<ClusterStore> | undefined;
  private kafkaClient: Kafka | undefined;
  private eventPublisher: EventPublisher | undefined;
  /**
   * The identity of the CLI's Temporal client, given to it explicitly (it is the SDK's default
   * too), so the audit events name the same identity the cluster workflows' updates see.
   */
  readonly identity = `${process.pid}@${hostname()}`;

  constructor(readonly config: Config) {}

  async temporal(): Promise<Client> {
    const { address, namespace, payloadOffloadBytes } = this.config.temporal;
    // Answers too large for history (a large cluster's view) are read from the store, opened only then.
    const dataConverter = fleetviewDataConverter({
      db: async () => (await this.clusterStore()).db,
      timeoutMs: this.config.mongodb.timeoutMs,
      thresholdBytes: payloadOffloadBytes,
    });
    this.temporalClient ??= connectTemporalClient(this.config.temporal, { connectTimeoutMs }).then(
      (connection) => ({ connection, client: new Client({ connection, namespace, dataConverter, identity: this.identity }) }),
      (err: unknown) => {
        throw unreachable('Temporal', address, err);
      },
    );
    return (await this.temporalClient).client;
  }

  async clusterStore(): Promise<ClusterStore> {
    const { mongodb } = this.config;
    this.mongo ??= Promise.resolve()
      .then(() => createMongoStore(mongoStoreOptions(mongodb, { serverSelectionTimeoutMs: connectTimeoutMs })))
      .catch((err: unknown) => {
        throw unreachable('MongoDB', displayMongoUri(mongodb.uri), err);
      });
    return this.mongo;
  }

  async discoveryStore(): Promise<DiscoveryStore> {
    return createDiscoveryStore((await this.clusterStore()).db);
  }

  kafka(): Kafka {
    this.kafkaClient ??= new Kafka({
      ...this.kafkaSecurity(),
      clientId: `${this.config.kafka.clientId}-cli`,
      brokers: this.config.kafka.brokers,
      connectionTimeout: connectTimeoutMs,
      requestTimeout: 10_000,
      retry: { retries: 1, initialRetryTime: 200 },
      logLevel: logLevel.NOTHING,
    });
    return this.kafkaClient;
  }

  /**
   * The events topic's publisher, for the audit events of operators' actions: 5 s per request and
   * the publisher's few retries, so a Kafka outage is reported within seconds (see cli/audit.ts).
   */
  publisher(): EventPublisher {
    this.eventPublisher ??= createKafkaPublisher({
      ...this.config.kafka,
      clientId: `${this.config.kafka.clientId}-cli`,
      security: this.kafkaSecurity(),
      logger: createLogger('error'),
      requestTimeoutMs: 5000,
    });
    return this.eventPublisher;
  }

  /** TLS and SASL options; a PEM file that cannot be read is reported like an unreachable Kafka. */
  private kafkaSecurity() {
    try {
      return kafkaSecurity(this.config.kafka);
    } catch (err) {
      throw this.kafkaUnreachable(err);
    }
  }

  kafkaUnreachable(err: unknown): CliError {
    return unreachable('Kafka', this.config.kafka.brokers.join(','), err);
  }

  async close(): Promise<void> {
    await this.eventPublisher?.close().catch(() => undefined);
    const temporal = await this.temporalClient?.catch(() => undefined);
    await temporal?.connection.close();
    const mongo = await this.mongo?.catch(() => undefined);
    await mongo?.close();
  }
}
