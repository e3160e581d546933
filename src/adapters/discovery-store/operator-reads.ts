/** What operators read of the discovered clusters: the `cluster` commands, and a discovery's clusters for `discovery pause` and `resume`. */
import type { DiscoveryCollections } from './collections.js';
import { toDiscoveredCluster, type DiscoveredCluster } from './documents.js';

export interface OperatorReads {
  /** The clusters the discovery lists now (held ones included), not retired. */
  listedClusters(name: string): Promise<string[]>;
  listClusters(): Promise<DiscoveredCluster[]>;
  getCluster(clusterId: string): Promise<DiscoveredCluster | null>;
}

export function createOperatorReads({ clusters }: DiscoveryCollections): OperatorReads {
  return {
    async listedClusters(name) {
      const docs = await clusters.find({ listed_by: name, retired_at: null }, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray();
      return docs.map((doc) => doc._id);
    },

    async listClusters() {
      return (await clusters.find({}).sort({ _id: 1 }).toArray()).map(toDiscoveredCluster);
    },

    async getCluster(clusterId) {
      const doc = await clusters.findOne({ _id: clusterId });
      return doc ? toDiscoveredCluster(doc) : null;
    },
  };
}
