/**
 * What one discovery run claims, saves and records: plain data that the discovery workflow, its
 * activities and the discovery store pass between them. Times are ISO 8601.
 */
import type { DiscoveryRecord } from './discovery-record.js';
import type { RetirementHold } from './retirement-guard.js';

/**
 * A discovery a run owns: its name and interval only. The settings themselves (URLs, headers
 * with tokens) stay in MongoDB and out of workflow histories; the activity that runs the source
 * reads them.
 */
export interface ClaimedDiscovery {
  name: string;
  /** Seconds between runs. */
  interval: number;
}

/** A stored settings document that no longer validates (e.g. written by another version). */
export interface InvalidStoredSetting {
  name: string;
  problem: string;
}

/** What the last run of a discovery did; shown by `fleetview discovery list`. */
export interface DiscoveryRunOutcome {
  /** Workflow time of the run (ISO 8601). */
  at: string;
  ok: boolean;
  /** Clusters the source listed. */
  clusters: number;
  /** Records that were new or changed. */
  changed: number;
  /** Records the source skipped (invalid, duplicate) and inputs kept at their last good content. */
  problems: string[];
  /** Why the source failed; null when it answered. */
  error: string | null;
}

export interface ListingChange {
  record: DiscoveryRecord;
  /** True for a cluster seen for the first time (or again after its retirement). */
  is_new: boolean;
}

/** One successful run's listing, as it is saved. */
export interface DiscoveryListing {
  discovery: string;
  /** Workflow time of the run. */
  at: string;
  grace_s: number;
  /** New and changed records, written whole. */
  changes: ListingChange[];
  /** Every cluster id the run listed (changed or not), plus those whose record was kept. */
  listed: string[];
}

/** What saving a successful run decided. */
export interface SavedListing {
  /** The discovery's hold after this run: null when its retirements go ahead as usual. */
  hold: RetirementHold | null;
}
