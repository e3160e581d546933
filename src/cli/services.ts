/**
 * The CLI's connections to Temporal, MongoDB and Kafka, opened on first use with short
 * deadlines: a service that does not answer is reported by name and address (exit 4) within
 * seconds, instead of a driver retrying in silence.
 */
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { createDiscoveryStore, type DiscoveryStore } from '../adapters/discovery-store.js';
import { createMongoStore, type ClusterStore } from '../adapters/mongo-store.js';
import type { Config } from '../config.js';
import { CliError, exitCodes } from './errors.js';

const connectTimeoutMs = 3000;

export function unreachable(service: string, address: string, err: unknown): CliError {
  const reason = err instanceof Error ? err.message : String(err);
  return new CliError(
    exitCodes.unavailable,
    `cannot reach ${service} at ${address}: ${reason}\n  is it running? (scripts/services.sh status; the address comes from the FLEETVIEW_* settings)`,
  );
}

export class Services {
  private temporalClient: Promise<{ client: Client; connection: Connection }> | undefined;
  private mongo: Promise<ClusterStore> | undefined;
  private kafkaClient: Kafka | undefined;

  constructor(readonly config: Config) {}

  async temporal(): Promise<Client> {
    const { address, namespace } = this.config.temporal;
    this.temporalClient ??= Connection.connect({ address, connectTimeout: connectTimeoutMs }).then(
      (connection) => ({ connection, client: new Client({ connection, namespace }) }),
      (err: unknown) => {
        throw unreachable('Temporal', address, err);
      },
    );
    return (await this.temporalClient).client;
  }

  async clusterStore(): Promise<ClusterStore> {
    const { uri, database } = this.config.mongodb;
    this.mongo ??= createMongoStore({ uri, database, serverSelectionTimeoutMs: connectTimeoutMs }).catch((err: unknown) => {
      throw unreachable('MongoDB', uri, err);
    });
    return this.mongo;
  }

  async discoveryStore(): Promise<DiscoveryStore> {
    return createDiscoveryStore((await this.clusterStore()).db);
  }

  kafka(): Kafka {
    this.kafkaClient ??= new Kafka({
      clientId: `${this.config.kafka.clientId}-cli`,
      brokers: this.config.kafka.brokers,
      connectionTimeout: connectTimeoutMs,
      requestTimeout: 10_000,
      retry: { retries: 1, initialRetryTime: 200 },
      logLevel: logLevel.NOTHING,
    });
    return this.kafkaClient;
  }

  kafkaUnreachable(err: unknown): CliError {
    return unreachable('Kafka', this.config.kafka.brokers.join(','), err);
  }

  async close(): Promise<void> {
    const temporal = await this.temporalClient?.catch(() => undefined);
    await temporal?.connection.close();
    const mongo = await this.mongo?.catch(() => undefined);
    await mongo?.close();
  }
}
