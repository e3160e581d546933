/**
 * Discovery state in MongoDB (or the embedded mongo-java-server), three collections
 * (./collections.ts):
 *
 * - `discovery_settings`: one document per discovery (`_id` = its name): the validated settings
 *   document, `next_run` (due when `next_run <= now`), the claim of the run working on it, and
 *   the outcome of its last run (./settings.ts, ./claims.ts).
 * - `discoveries`: one document per discovered cluster (`_id` = cluster id): its last record,
 *   which discovery it came from, which discoveries listed it on their last successful run
 *   (`listed_by`), when it was first and last seen, since when no enabled discovery lists it
 *   (`missing_since`), and its retirement (./records.ts, ./listings.ts, ./retirements.ts).
 * - `discovery_claims`: who won a discovery's due slot or a cluster's retirement (./claims.ts).
 *
 * A cluster goes missing only on positive evidence: a successful run of every discovery that
 * listed it no longer does, or those discoveries were deleted or disabled. A discovery that
 * fails changes nothing here, so its clusters are never retired for it (invariant 6).
 *
 * The retirement guard (src/domain/retirement-guard.ts, invariant 10): a successful run that
 * would make too many of its discovery's clusters missing at once is held. Its new and changed
 * records are saved as usual, but the clusters it dropped stay listed by the discovery, marked
 * `held_by` it, and the hold is written to the discovery's settings document
 * (`retirement_hold`). A later run that lists them again (below the threshold) clears it; an
 * operator's release (`releaseHold`) accepts the shrink: the held clusters go missing at once
 * and retire after their grace period. `dropped_by` names the discovery whose successful run
 * last stopped listing a cluster, so clusters still in their grace period count for the guard
 * of the discovery that dropped them.
 *
 * Runs that race decide by inserting a claim with a deterministic `_id`: a unique `_id` is
 * enforced by every MongoDB-wire store, while a filtered update was not atomic against a
 * concurrent one on FerretDB v1 (the embedded store before mongo-java-server). Other writes
 * carry the run's time and are guarded by it (../guarded-bulk-write.ts). Only shapes real
 * MongoDB and mongo-java-server share are used, and still none FerretDB v1 lacked
 * (store-writes.md): no transactions, no aggregation, no TTL indexes, and `$pull`/`$pullAll`
 * with plain values only.
 */
import type { Db } from 'mongodb';
import { createControlStore } from '../control-store.js';
import { createRunClaimStore, type RunClaimStore } from './claims.js';
import { discoveryCollections, ensureDiscoveryIndexes } from './collections.js';
import { createListingStore, type ListingStore } from './listings.js';
import { createOperatorReads, type OperatorReads } from './operator-reads.js';
import { createRetirementStore, type RetirementStore } from './retirements.js';
import { createSettingsStore, type SettingsStore } from './settings.js';

export { discoveryCollectionNames } from './collections.js';
export type { DiscoveredCluster } from './documents.js';
export type { ReleasedHold } from './retirements.js';
export type { AppliedSetting, ApplyResult, StoredDiscoverySetting } from './settings.js';

export interface DiscoveryStore extends SettingsStore, RunClaimStore, ListingStore, RetirementStore, OperatorReads {
  ensureIndexes(): Promise<void>;
}

/** Built on the worker's (or the CLI's) MongoDB database handle: one client per process. */
export function createDiscoveryStore(db: Db): DiscoveryStore {
  const collections = discoveryCollections(db);
  return {
    ensureIndexes: () => ensureDiscoveryIndexes(collections),
    ...createSettingsStore(collections),
    ...createRunClaimStore(collections),
    ...createListingStore(collections),
    ...createRetirementStore(collections, createControlStore(db)),
    ...createOperatorReads(collections),
  };
}
