/** The discovery store's three collections, and the indexes its queries need. */
import type { Collection, Db } from 'mongodb';
import type { ClaimDocument, DiscoveredClusterDocument, SettingDocument } from './documents.js';

export const discoveryCollectionNames = {
  settings: 'discovery_settings',
  // One document per discovered cluster; named before that was said, and kept: deployed stores hold their data under it.
  records: 'discoveries',
  claims: 'discovery_claims',
} as const;

export interface DiscoveryCollections {
  settings: Collection<SettingDocument>;
  clusters: Collection<DiscoveredClusterDocument>;
  claims: Collection<ClaimDocument>;
}

export function discoveryCollections(db: Db): DiscoveryCollections {
  return {
    settings: db.collection<SettingDocument>(discoveryCollectionNames.settings),
    clusters: db.collection<DiscoveredClusterDocument>(discoveryCollectionNames.records),
    claims: db.collection<ClaimDocument>(discoveryCollectionNames.claims),
  };
}

export async function ensureDiscoveryIndexes({ settings, clusters, claims }: DiscoveryCollections): Promise<void> {
  await settings.createIndex({ enabled: 1, next_run: 1 }, { name: 'due' });
  await clusters.createIndex({ listed_by: 1 }, { name: 'listed_by' });
  await clusters.createIndex({ retired_at: 1, missing_since: 1 }, { name: 'retirement' });
  await claims.createIndex({ kind: 1, subject: 1 }, { name: 'subject' });
}
