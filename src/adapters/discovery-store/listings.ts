/**
 * A successful run's listing: which clusters its discovery vouches for. A cluster goes missing
 * only on positive evidence: a successful run of every discovery that listed it no longer does.
 * Unless the retirement guard holds the run (src/domain/retirement-guard.ts): then the clusters
 * it dropped stay listed by it, marked `held_by` it, and the hold is saved with its settings.
 */
import type { DiscoveryListing, SavedListing } from '../../domain/discovery-run.js';
import { defaultRetirementGuard, retirementGuardDecision, type RetirementGuardDecision } from '../../domain/retirement-guard.js';
import type { DiscoveryCollections } from './collections.js';
import { iso, parseStored, toDiscoveredCluster, type DiscoveredCluster, type SettingDocument } from './documents.js';
import { writeRecords } from './records.js';

/** A cluster's last_seen is moved on by a run that lists it unchanged at most this often. */
const lastSeenResolutionMs = 10 * 60_000;

export interface ListingStore {
  /** The active (not retired) documents of these clusters. */
  loadActive(clusterIds: readonly string[]): Promise<Map<string, DiscoveredCluster>>;
  /**
   * Saves one successful run of a discovery: records, last seen, and the clusters it dropped,
   * unless the retirement guard holds them (then the hold is saved with the discovery).
   */
  saveListing(listing: DiscoveryListing): Promise<SavedListing>;
}

/** Clusters nobody lists any more start their grace period now. */
export async function markUnlisted({ clusters }: DiscoveryCollections, at: Date): Promise<void> {
  await clusters.updateMany({ listed_by: [], missing_since: null, retired_at: null }, { $set: { missing_since: at } });
}

export function createListingStore(collections: DiscoveryCollections): ListingStore {
  const { settings, clusters } = collections;

  /** Read before the listing is written: what the discovery vouched for until now, and which of those clusters another discovery lists too. */
  async function guardDecision(listing: DiscoveryListing): Promise<{ decision: RetirementGuardDecision; setting: SettingDocument | null }> {
    const name = listing.discovery;
    const previous = await clusters
      .find({ retired_at: null, $or: [{ listed_by: name }, { dropped_by: name, missing_since: { $ne: null } }] }, { projection: { _id: 1, listed_by: 1 } })
      .toArray();
    const setting = await settings.findOne({ _id: name });
    const parsed = setting ? parseStored(setting) : null;
    const guard = parsed?.ok ? parsed.setting.retirement_guard : defaultRetirementGuard;
    const decision = retirementGuardDecision(
      {
        previous: previous.map((doc) => doc._id),
        listed: listing.listed,
        listedElsewhere: previous.filter((doc) => (doc.listed_by ?? []).some((other) => other !== name)).map((doc) => doc._id),
      },
      guard,
    );
    return { decision, setting };
  }

  async function markListed(listing: DiscoveryListing, at: Date): Promise<void> {
    const name = listing.discovery;
    // Only documents not yet in the listed state are matched: a run over an unchanged
    // listing writes nothing (last_seen moves on at most every lastSeenResolutionMs).
    await clusters.updateMany(
      {
        _id: { $in: listing.listed },
        retired_at: null,
        last_seen: { $lte: at },
        $or: [
          { listed_by: { $ne: name } },
          { missing_since: { $ne: null } },
          { grace_s: { $ne: listing.grace_s } },
          { last_seen: { $lt: new Date(at.getTime() - lastSeenResolutionMs) } },
          { held_by: name },
          { dropped_by: { $ne: null } },
        ],
      },
      { $set: { last_seen: at, missing_since: null, grace_s: listing.grace_s, dropped_by: null }, $addToSet: { listed_by: name }, $pull: { held_by: name } },
    );
  }

  async function holdDropped(listing: DiscoveryListing, at: Date, decision: RetirementGuardDecision, setting: SettingDocument | null): Promise<SavedListing> {
    const name = listing.discovery;
    // The clusters it dropped stay listed by it (those in their grace period are listed
    // again): nothing goes missing, nothing retires, their refreshers go on.
    await clusters.updateMany(
      {
        _id: { $in: decision.missing },
        retired_at: null,
        $or: [{ listed_by: { $ne: name } }, { held_by: { $ne: name } }, { missing_since: { $ne: null } }],
      },
      { $set: { missing_since: null, dropped_by: null }, $addToSet: { listed_by: name, held_by: name } },
    );
    // Held before, and now listed elsewhere: no longer this discovery's to hold.
    await clusters.updateMany({ held_by: name, _id: { $nin: decision.missing } }, { $pull: { held_by: name } });
    const since = setting?.retirement_hold?.since ?? at;
    const hold = { held: decision.missing.length, previous: decision.previous, listed: decision.listed, since, at };
    // An older run finishing late never overwrites a newer hold.
    await settings.updateOne({ _id: name, $or: [{ 'retirement_hold.at': { $lte: at } }, { retirement_hold: null }] }, { $set: { retirement_hold: hold } });
    return { hold: { ...hold, since: iso(since), at: listing.at } };
  }

  async function dropUnlisted(listing: DiscoveryListing, at: Date): Promise<SavedListing> {
    const name = listing.discovery;
    // Clusters this discovery listed before and not now: it no longer vouches for them.
    await clusters.updateMany(
      { listed_by: name, _id: { $nin: listing.listed }, retired_at: null },
      { $pull: { listed_by: name, held_by: name }, $set: { dropped_by: name } },
    );
    await markUnlisted(collections, at);
    await settings.updateOne({ _id: name, retirement_hold: { $ne: null } }, { $set: { retirement_hold: null } });
    return { hold: null };
  }

  return {
    async loadActive(clusterIds) {
      const out = new Map<string, DiscoveredCluster>();
      if (clusterIds.length === 0) return out;
      const docs = await clusters.find({ _id: { $in: [...clusterIds] }, retired_at: null }).toArray();
      for (const doc of docs) out.set(doc._id, toDiscoveredCluster(doc));
      return out;
    },

    async saveListing(listing) {
      const at = new Date(listing.at);
      await writeRecords(collections, listing, at);
      const { decision, setting } = await guardDecision(listing);
      if (listing.listed.length > 0) await markListed(listing, at);
      return decision.hold ? holdDropped(listing, at, decision, setting) : dropUnlisted(listing, at);
    },
  };
}
