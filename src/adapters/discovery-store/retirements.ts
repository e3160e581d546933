/**
 * Retirements: a cluster no enabled discovery lists is retired once missing past its grace
 * period (an operator's `cluster_retire_grace_s` in `cluster_controls`, written by its workflow,
 * replaces the listing's `grace_s`), claimed by one run; and an operator's release of a held
 * shrink, after which the held clusters go missing at once.
 */
import type { RetirementHold } from '../../domain/retirement-guard.js';
import type { ControlStore } from '../control-store.js';
import { claimOnce } from './claims.js';
import type { DiscoveryCollections } from './collections.js';
import { iso, storedHold, toDiscoveredCluster, type DiscoveredCluster } from './documents.js';
import { markUnlisted } from './listings.js';

/** What `releaseHold` did. */
export interface ReleasedHold {
  /** The hold that was released; null when the discovery held nothing. */
  hold: RetirementHold | null;
  /** Clusters that went missing now (their grace period starts). */
  released: number;
  /** The longest grace period of those clusters, in seconds. */
  grace_s: number;
}

export interface RetirementStore {
  /**
   * Accepts a discovery's held shrink: the clusters it holds go missing at `now` and retire after
   * their grace period unless listed again. Null when there is no such discovery.
   */
  releaseHold(name: string, now: Date): Promise<ReleasedHold | null>;
  /**
   * Marks missing the clusters no enabled discovery lists (deleted or disabled discoveries),
   * then claims for this run every cluster missing past its grace period and returns them with
   * those a run marked earlier but did not finish retiring.
   */
  claimRetirements(at: Date, run: string, enabled: readonly string[]): Promise<DiscoveredCluster[]>;
  /** The cluster's CLUSTER_RETIRED is published and its workflow told. */
  completeRetirement(clusterId: string, run: string): Promise<void>;
}

/** `controls`: the cluster workflows write it; discovery only reads the operators' grace periods. */
export function createRetirementStore(collections: DiscoveryCollections, controls: ControlStore): RetirementStore {
  const { settings, clusters } = collections;
  return {
    async releaseHold(name, now) {
      const setting = await settings.findOne({ _id: name });
      if (!setting) return null;
      const held = await clusters.find({ held_by: name, retired_at: null }, { projection: { _id: 1, grace_s: 1 } }).toArray();
      if (held.length > 0) {
        // Accepted: the discovery no longer vouches for them, and they do not count as its
        // dropped clusters either (the next run is measured against what it lists now).
        const ids = held.map((doc) => doc._id);
        await clusters.updateMany({ _id: { $in: ids } }, { $pull: { listed_by: name, held_by: name }, $set: { dropped_by: null } });
        await clusters.updateMany({ _id: { $in: ids }, listed_by: [], missing_since: null, retired_at: null }, { $set: { missing_since: now } });
      }
      await settings.updateOne({ _id: name }, { $set: { retirement_hold: null } });
      return { hold: storedHold(setting), released: held.length, grace_s: Math.max(0, ...held.map((doc) => doc.grace_s)) };
    },

    async claimRetirements(at, run, enabled) {
      const listedBy: string[] = await clusters.distinct('listed_by', { retired_at: null });
      const gone = listedBy.filter((name) => !enabled.includes(name));
      if (gone.length > 0) {
        // Deleting or disabling a discovery is an operator's decision: its holds go with it.
        await clusters.updateMany({ listed_by: { $in: gone }, retired_at: null }, { $pullAll: { listed_by: gone, held_by: gone } });
        await settings.updateMany({ _id: { $in: gone }, retirement_hold: { $ne: null } }, { $set: { retirement_hold: null } });
      }
      await markUnlisted(collections, at);

      const missing = await clusters.find({ retired_at: null, missing_since: { $ne: null } }).toArray();
      // An operator's cluster_retire_grace_s (`fleetview cluster set`) wins over the listing's grace
      // period: read for the missing clusters only, in one query.
      const overrides = await controls.loadMany(missing.map((doc) => doc._id));
      for (const doc of missing) {
        const graceS = overrides.get(doc._id)?.operator.cluster_retire_grace_s ?? doc.grace_s;
        if (doc.missing_since === null || doc.missing_since.getTime() + graceS * 1000 > at.getTime()) continue;
        // Racing runs write the winner's run and time alike, so the cluster gets one CLUSTER_RETIRED id.
        const claim = await claimOnce(collections, { _id: `retire/${doc._id}@${iso(doc.missing_since)}`, kind: 'retire', subject: doc._id, by: run, at });
        // Still unlisted and missing since the same moment: a run that listed it meanwhile wins.
        // The grace period applied is kept, so the retirement's reason names it.
        await clusters.updateOne(
          { _id: doc._id, retired_at: null, listed_by: [], missing_since: doc.missing_since },
          { $set: { retired_at: claim.at, retired_run: claim.by, grace_s: graceS } },
        );
      }
      const pending = await clusters.find({ retired_at: { $ne: null }, retire_done: false }).sort({ _id: 1 }).toArray();
      return pending.map(toDiscoveredCluster);
    },

    async completeRetirement(clusterId, run) {
      await clusters.updateOne({ _id: clusterId, retired_run: run }, { $set: { retire_done: true } });
    },
  };
}
