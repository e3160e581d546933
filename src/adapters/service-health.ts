/**
 * Asks each of the three services for a real answer through the client the project uses, with
 * a short deadline: used by `npm test` to decide whether to start them, and by operator tools to
 * name the service that cannot be reached.
 */
import { Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { Config } from '../config.js';
import { displayMongoUri, kafkaSecurity, mongoClientOptions, serviceConnectError, temporalConnectionOptions } from './connections/index.js';
import './kafkajs-idle-loop.js';

export interface ServiceHealth {
  service: 'temporal' | 'kafka' | 'mongodb';
  address: string;
  ok: boolean;
  detail: string;
}

async function withDeadline<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(service: ServiceHealth['service'], address: string, probe: () => Promise<string>): Promise<ServiceHealth> {
  try {
    return { service, address, ok: true, detail: await probe() };
  } catch (err) {
    const name = ({ temporal: 'Temporal', kafka: 'Kafka', mongodb: 'MongoDB' } as const)[service];
    return { service, address, ok: false, detail: serviceConnectError(name, address, err).reason };
  }
}

export async function checkTemporal(config: Config, timeoutMs: number): Promise<ServiceHealth> {
  return check('temporal', config.temporal.address, async () => {
    const connection = await withDeadline(timeoutMs, 'Temporal', Connection.connect({ ...temporalConnectionOptions(config.temporal), connectTimeout: timeoutMs }));
    try {
      const info = await withDeadline(timeoutMs, 'Temporal', connection.workflowService.getSystemInfo({}));
      return `server ${info.serverVersion || 'unknown version'}`;
    } finally {
      await connection.close();
    }
  });
}

export async function checkKafka(config: Config, timeoutMs: number): Promise<ServiceHealth> {
  return check('kafka', config.kafka.brokers.join(','), async () => {
    const kafka = new Kafka({
      ...kafkaSecurity(config.kafka),
      clientId: `${config.kafka.clientId}-probe`,
      brokers: config.kafka.brokers,
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await withDeadline(timeoutMs, 'Kafka', admin.connect());
      const cluster = await withDeadline(timeoutMs, 'Kafka', admin.describeCluster());
      return `${cluster.brokers.length} broker(s), cluster ${cluster.clusterId}`;
    } finally {
      await admin.disconnect();
    }
  });
}

export async function checkMongo(config: Config, timeoutMs: number): Promise<ServiceHealth> {
  return check('mongodb', displayMongoUri(config.mongodb.uri), async () => {
    const client = new MongoClient(config.mongodb.uri, { ...mongoClientOptions(config.mongodb), serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
    try {
      await client.connect();
      const info = await client.db('admin').command({ buildInfo: 1 });
      return `server ${String(info.version)}`;
    } finally {
      await client.close();
    }
  });
}

export async function checkServices(config: Config, timeoutMs = 3000): Promise<ServiceHealth[]> {
  return Promise.all([checkTemporal(config, timeoutMs), checkKafka(config, timeoutMs), checkMongo(config, timeoutMs)]);
}
