/**
 * What fleetview needs before its workers can do anything, created or brought up to date (safe
 * to run again): the store's indexes and the events topic (`fleetview start`, the demo).
 */
import type { ServiceClients } from '../adapters/clients.js';
import { createDiscoveryStore } from '../adapters/discovery-store/index.js';

export async function ensureIndexes(clients: ServiceClients): Promise<void> {
  const store = await clients.clusterStore();
  await store.ensureIndexes();
  await createDiscoveryStore(store.db).ensureIndexes();
}

/** Creates the events topic with the configured partitions and retention when it does not exist. */
export async function ensureEventsTopic(clients: ServiceClients): Promise<void> {
  await clients.publisher().ensureTopic();
}
