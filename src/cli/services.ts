/**
 * The CLI's clients of Temporal, MongoDB and Kafka (src/adapters/clients.ts), opened on first use
 * with short deadlines: a service that does not answer is reported by name and address (exit 4)
 * within seconds, instead of a driver retrying in silence.
 */
import { hostname } from 'node:os';
import { openClients, unreachableMessage, type ServiceClients } from '../adapters/clients.js';
import { ServiceConnectError } from '../adapters/connections/index.js';
import { createDiscoveryStore, type DiscoveryStore } from '../adapters/discovery-store/index.js';
import type { Config } from '../config.js';
import { CliError, exitCodes } from './errors.js';

const connectTimeoutMs = 3000;

export function unreachable(cause: ServiceConnectError): CliError {
  return new CliError(exitCodes.unavailable, unreachableMessage(cause));
}

/** The clients, whose connect errors are CliErrors (exit 4); operations (src/operations) take them as they are. */
export interface Services extends ServiceClients {
  /**
   * The identity of the CLI's Temporal client, given to it explicitly (it is the SDK's default
   * too), so the audit events name the same identity the cluster workflows' updates see.
   */
  readonly identity: string;
  discoveryStore(): Promise<DiscoveryStore>;
  /** A Kafka failure met while using a client, as the CLI reports an unreachable Kafka. */
  kafkaUnreachable(err: unknown): CliError;
}

function asCliError(err: unknown): unknown {
  return err instanceof ServiceConnectError ? unreachable(err) : err;
}

export function openServices(config: Config): Services {
  const identity = `${process.pid}@${hostname()}`;
  const clients = openClients(config, {
    connectTimeoutMs,
    kafkaClientIdSuffix: '-cli',
    identity,
    // The audit events of operators' actions: a Kafka outage is reported within seconds (see cli/audit.ts).
    publishTimeoutMs: 5000,
  });
  const services: Services = {
    ...clients,
    identity,
    temporal: () =>
      clients.temporal().catch((err: unknown) => {
        throw asCliError(err);
      }),
    clusterStore: () =>
      clients.clusterStore().catch((err: unknown) => {
        throw asCliError(err);
      }),
    discoveryStore: async () => createDiscoveryStore((await services.clusterStore()).db),
    kafka() {
      try {
        return clients.kafka();
      } catch (err) {
        throw asCliError(err);
      }
    },
    publisher() {
      try {
        return clients.publisher();
      } catch (err) {
        throw asCliError(err);
      }
    },
    kafkaUnreachable: (err) => (err instanceof CliError ? err : unreachable(clients.kafkaError(err))),
  };
  return services;
}
