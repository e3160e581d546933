/**
 * Forgets clusters: their refresh workflows end and what fleetview stored about them is deleted
 * (discovery records, cluster documents, agents, agent info, nodes, shards, controls). Meant for
 * clusters no discovery lists any more: one still listed comes back at its discovery's next run.
 */
import type { ServiceClients } from '../adapters/clients.js';
import { controlsCollectionName } from '../adapters/control-store.js';
import { discoveryCollectionNames } from '../adapters/discovery-store/index.js';
import { collectionNames, entityCollections } from '../adapters/store-documents.js';
import { clusterWorkflowId } from '../domain/ids.js';

export async function forgetClusters(clients: ServiceClients, clusterIds: readonly string[], reason: string): Promise<void> {
  const client = await clients.temporal();
  // First, so no refresh writes the documents again.
  for (const id of clusterIds) {
    await client.workflow.getHandle(clusterWorkflowId(id)).terminate(reason).catch(() => undefined);
  }
  const { db } = await clients.clusterStore();
  const ids = [...clusterIds];
  for (const name of [discoveryCollectionNames.records, collectionNames.clusters, controlsCollectionName]) {
    await db.collection<{ _id: string }>(name).deleteMany({ _id: { $in: ids } });
  }
  for (const entity of entityCollections) {
    await db.collection(collectionNames[entity]).deleteMany({ cluster_id: { $in: ids } });
  }
}
