/**
 * A run's new and changed records, written whole. A cluster never seen is inserted (the cheap
 * write on every store: a thousand new clusters at once are a first run); any other record is a
 * guarded upsert. A retired document is replaced (the cluster is back); an active one only by a
 * run at least as recent as the one that wrote it.
 */
import { canonicalDiscoveryRecord, type DiscoveryRecord } from '../../domain/discovery-record.js';
import type { DiscoveryListing } from '../../domain/discovery-run.js';
import { guardedBulkWriteOrThrow } from '../guarded-bulk-write.js';
import type { DiscoveryCollections } from './collections.js';

export async function writeRecords({ clusters }: DiscoveryCollections, listing: DiscoveryListing, at: Date): Promise<void> {
  const freshLifecycle = {
    first_seen: at,
    last_seen: at,
    listed_by: [] as string[],
    missing_since: null,
    grace_s: listing.grace_s,
    retired_at: null,
    retired_run: null,
    retire_done: false,
  };
  const recordDocument = (record: DiscoveryRecord) => {
    const canonical = canonicalDiscoveryRecord(record);
    return { cluster_id: canonical.cluster_id, record: canonical, discovery: listing.discovery, record_at: at };
  };
  // One that exists after all (back after its retirement, or a racing run) refuses the insert
  // and falls through to the guarded upsert.
  const fresh = listing.changes.filter((change) => change.is_new);
  const existing = new Set(listing.changes.filter((change) => !change.is_new).map((change) => change.record.cluster_id));
  const inserts = await guardedBulkWriteOrThrow(
    clusters,
    fresh.map(({ record }) => ({ insertOne: { document: { _id: record.cluster_id, ...recordDocument(record), ...freshLifecycle } } })),
  );
  inserts.forEach((outcome, index) => {
    if (outcome === 'refused') existing.add(fresh[index]!.record.cluster_id);
  });
  await guardedBulkWriteOrThrow(
    clusters,
    listing.changes
      .filter((change) => existing.has(change.record.cluster_id))
      .map(({ record, is_new }) => ({
        updateOne: {
          filter: { _id: record.cluster_id, $or: [{ record_at: { $lte: at } }, { retired_at: { $ne: null } }] },
          // A new cluster (or one back after its retirement) starts a new lifecycle.
          update: is_new ? { $set: { ...recordDocument(record), ...freshLifecycle } } : { $set: recordDocument(record), $setOnInsert: freshLifecycle },
          upsert: true,
        },
      })),
  );
}
