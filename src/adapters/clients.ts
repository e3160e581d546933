/**
 * The one place fleetview opens its clients of Temporal, Kafka and MongoDB from the configuration:
 * the worker, the CLI, the demo, the tests and the benchmarks ask it for what they use. Each
 * client is opened on first use, once; one that cannot be opened fails naming its service,
 * address and cause (ServiceConnectError); close() closes what was opened, the newest first.
 */
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config.js';
import {
  connectTemporalClient,
  connectTemporalWorker,
  displayMongoUri,
  kafkaSecurity,
  mongoStoreOptions,
  serviceConnectError,
  type KafkaSecurity,
  type ServiceConnectError,
} from './connections/index.js';
import { createKafkaPublisher, type EventPublisher } from './kafka-publisher.js';
import { createLogger, type Logger } from './logger.js';
import { createClusterStore, type ClusterStore, type StoreOptions } from './cluster-store.js';
import { fleetviewDataConverter } from './payload-store.js';
import './kafkajs-idle-loop.js';

/** A kafkajs client: consumers and admin clients are made from it (they are closed by whoever made them). */
export type KafkaClient = Kafka;

export interface ClientsOptions {
  /**
   * Bound of connecting to each service, for callers with an operator waiting (the CLI): an
   * unreachable service is named within seconds, Kafka after one quick retry. Default: the
   * drivers' own bounds (MongoDB's 10 s server selection, kafkajs' retries).
   */
  connectTimeoutMs?: number;
  /** Appended to FLEETVIEW_KAFKA_CLIENT_ID, so brokers tell this process's clients apart (the CLI: `-cli`). */
  kafkaClientIdSuffix?: string;
  /** The Temporal client's identity (default: the SDK's). */
  identity?: string;
  /** Where the publisher's kafkajs warnings go (default: errors only, on stderr). */
  publisherLogger?: Logger;
  /** The publisher's request timeout (default: the publisher's own). */
  publishTimeoutMs?: number;
  /** The worker's store metrics. */
  storeMetrics?: Pick<StoreOptions, 'onCommand' | 'onDocumentsWritten'>;
  /** Told about each client whose close failed (the others are closed all the same). */
  onCloseError?: (client: string, err: unknown) => void;
}

export interface ServiceClients {
  readonly config: Config;
  /** Payloads too large for a history live in the store: the Temporal client's converter, and the worker's. */
  readonly dataConverter: DataConverter;
  temporal(): Promise<Client>;
  /** The worker's own connection (it only polls; clients' calls go through temporal()). */
  workerConnection(): Promise<NativeConnection>;
  clusterStore(): Promise<ClusterStore>;
  kafka(): KafkaClient;
  /** The events topic's publisher. */
  publisher(): EventPublisher;
  /** A Kafka failure met after the client was made (a refused connection, bad credentials), named as a connect error. */
  kafkaError(err: unknown): ServiceConnectError;
  close(): Promise<void>;
}

/** The words an operator reads when a service cannot be used: the cause, then what to check. */
export function unreachableMessage(cause: ServiceConnectError): string {
  const hint =
    cause.problem === 'refused' || cause.problem === 'timeout' || cause.problem === null
      ? 'is it running? (scripts/services.sh status; the address comes from the FLEETVIEW_* settings)'
      : `check the FLEETVIEW_${cause.service.toUpperCase()}_* TLS and credential settings (docs/operations.md#running-against-your-services)`;
  return `cannot reach ${cause.message}\n  ${hint}`;
}

export function openClients(config: Config, options: ClientsOptions = {}): ServiceClients {
  const { connectTimeoutMs } = options;
  const kafkaAddress = config.kafka.brokers.join(',');
  const kafkaClientId = `${config.kafka.clientId}${options.kafkaClientIdSuffix ?? ''}`;
  /** What was opened, in order, with how to close it. */
  const closers: Array<{ client: string; close: () => Promise<void> | void }> = [];
  const kafkaError = (err: unknown) => serviceConnectError('Kafka', kafkaAddress, err);

  let store: Promise<ClusterStore> | undefined;
  let temporal: Promise<Client> | undefined;
  let workerConnection: Promise<NativeConnection> | undefined;
  let kafka: Kafka | undefined;
  let publisher: EventPublisher | undefined;
  let security: KafkaSecurity | undefined;

  /** Remembers how to close `client` once it opened. */
  function track<T>(client: string, opening: Promise<T>, close: (value: T) => Promise<void> | void): Promise<T> {
    return opening.then((value) => {
      closers.push({ client, close: () => close(value) });
      return value;
    });
  }

  /** TLS and SASL options; a PEM file that cannot be read fails like an unreachable Kafka. */
  function kafkaOptions(): KafkaSecurity {
    try {
      return (security ??= kafkaSecurity(config.kafka));
    } catch (err) {
      throw kafkaError(err);
    }
  }

  const clusterStore = (): Promise<ClusterStore> => {
    store ??= track(
      'MongoDB',
      Promise.resolve()
        .then(() => createClusterStore({ ...mongoStoreOptions(config.mongodb, connectTimeoutMs ? { serverSelectionTimeoutMs: connectTimeoutMs } : {}), ...options.storeMetrics }))
        .catch((err: unknown) => {
          throw serviceConnectError('MongoDB', displayMongoUri(config.mongodb.uri), err);
        }),
      (opened) => opened.close(),
    );
    return store;
  };

  // The store is opened only when a payload needs it (the CLI reads a large cluster's view).
  const dataConverter = fleetviewDataConverter({
    db: async () => (await clusterStore()).db,
    timeoutMs: config.mongodb.timeoutMs,
    thresholdBytes: config.temporal.payloadOffloadBytes,
  });

  return {
    config,
    dataConverter,
    clusterStore,
    temporal() {
      const { namespace } = config.temporal;
      temporal ??= track(
        'the Temporal client',
        connectTemporalClient(config.temporal, connectTimeoutMs ? { connectTimeoutMs } : {}).then(
          (connection) => new Client({ connection, namespace, dataConverter, ...(options.identity ? { identity: options.identity } : {}) }),
        ),
        (client) => client.connection.close(),
      );
      return temporal;
    },
    workerConnection() {
      workerConnection ??= track('the Temporal worker connection', connectTemporalWorker(config.temporal), (connection) => connection.close());
      return workerConnection;
    },
    kafka() {
      kafka ??= new Kafka({
        ...kafkaOptions(),
        clientId: kafkaClientId,
        brokers: config.kafka.brokers,
        ...(connectTimeoutMs ? { connectionTimeout: connectTimeoutMs, requestTimeout: 10_000, retry: { retries: 1, initialRetryTime: 200 } } : {}),
        logLevel: logLevel.NOTHING,
      });
      return kafka;
    },
    publisher() {
      if (!publisher) {
        const created = createKafkaPublisher({
          ...config.kafka,
          clientId: kafkaClientId,
          security: kafkaOptions(),
          logger: options.publisherLogger ?? createLogger('error'),
          ...(options.publishTimeoutMs ? { requestTimeoutMs: options.publishTimeoutMs } : {}),
        });
        closers.push({ client: 'the Kafka publisher', close: () => created.close() });
        publisher = created;
      }
      return publisher;
    },
    kafkaError,
    async close() {
      // Clients still opening are waited for, so none is left open behind the caller's back.
      await Promise.allSettled([store, temporal, workerConnection]);
      for (const { client, close } of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (err) {
          options.onCloseError?.(client, err);
        }
      }
    },
  };
}
