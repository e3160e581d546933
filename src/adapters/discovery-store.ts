/**
 * Discovery state in MongoDB (or FerretDB), two collections:
 *
 * - `discovery_settings`: one document per discovery (`_id` = its name): the validated settings
 *   document, `next_run` (due when `next_run <= now`), the claim of the run working on it, and
 *   the outcome of its last run.
 * - `discoveries`: one document per cluster (`_id` = cluster id): its last record, which
 *   discovery it came from, which discoveries listed it on their last successful run
 *   (`listed_by`), when it was first and last seen, since when no enabled discovery lists it
 *   (`missing_since`), and its retirement.
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
 * A cluster's operator override of its grace period (`cluster_retire_grace_s` in
 * `cluster_controls`, written by its workflow) replaces the listing's `grace_s` when it retires.
 *
 * Runs that race (started by hand beside the schedule's) decide through `discovery_claims`: a
 * discovery's due slot, or a cluster's retirement, is claimed by inserting a document with a
 * deterministic `_id`, so exactly one insert wins on MongoDB and FerretDB alike (FerretDB v1 does
 * not make a filtered update atomic against a concurrent one; a unique `_id` it does enforce).
 * Other writes carry the run's time and are guarded by it. Only features real MongoDB and
 * FerretDB v1 share are used: no transactions, no aggregation, no TTL indexes, and
 * `$pull`/`$pullAll` with plain values only (FerretDB ignores `$pull` with a condition).
 */
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Db, type WriteError } from 'mongodb';
import type { ControlWindow } from '../domain/cluster-controls.js';
import { canonicalDiscoveryRecord, type DiscoveryRecord } from '../domain/discovery-record.js';
import { defaultRetirementGuard, retirementGuardDecision, type RetirementGuardSettings, type RetirementHold } from '../domain/retirement-guard.js';
import { createControlStore } from './control-store.js';
import { parseDiscoverySetting, type DiscoverySetting } from './discovery/settings.js';

const duplicateKey = 11000;

export const discoveryCollectionNames = {
  settings: 'discovery_settings',
  records: 'discoveries',
  claims: 'discovery_claims',
} as const;

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

export interface StoredDiscoverySetting {
  setting: DiscoverySetting;
  /** When the discovery is next due (ISO 8601). */
  next_run: string;
  applied_at: string;
  last_run: DiscoveryRunOutcome | null;
  /** Clusters whose latest listing includes this discovery and that are not retired (held ones included). */
  clusters: number;
  /** Retirements the guard holds for this discovery; null when none. */
  retirement_hold: RetirementHold | null;
  /** The operator's pause of the discovery (`fleetview discovery pause`), as stored: it may have expired. */
  pause: ControlWindow | null;
}

/** A stored settings document that no longer validates (e.g. written by another version). */
export interface InvalidStoredSetting {
  name: string;
  problem: string;
}

/** One cluster's discovery document. Times are ISO 8601. */
export interface StoredDiscovery {
  cluster_id: string;
  record: DiscoveryRecord;
  /** The discovery whose record is stored. */
  discovery: string;
  /** Discoveries whose last successful run listed the cluster, or that hold its retirement. */
  listed_by: string[];
  /** Discoveries whose last successful run dropped the cluster but whose guard holds its retirement. */
  held_by: string[];
  /** The discovery whose successful run last stopped listing the cluster; null while listed, or once released. */
  dropped_by: string | null;
  first_seen: string;
  last_seen: string;
  /** When the stored record was written. */
  record_at: string;
  /** Since when no enabled discovery lists the cluster; null while listed. */
  missing_since: string | null;
  /** How long the cluster may stay missing before it is retired, in seconds. */
  grace_s: number;
  retired_at: string | null;
  /** The discovery run that retired it: names its CLUSTER_RETIRED event. */
  retired_run: string | null;
  /** True once the event is published and the cluster's workflow is told to retire. */
  retire_done: boolean;
}

export type ApplyResult = 'created' | 'updated' | 'unchanged';

/** What an apply did, and the settings it replaced (null: none, or stored ones that no longer validate). */
export interface AppliedSetting {
  result: ApplyResult;
  before: DiscoverySetting | null;
}

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

/** What saving a successful run decided. */
export interface SavedListing {
  /** The discovery's hold after this run: null when its retirements go ahead as usual. */
  hold: RetirementHold | null;
}

/** What `releaseHold` did. */
export interface ReleasedHold {
  /** The hold that was released; null when the discovery held nothing. */
  hold: RetirementHold | null;
  /** Clusters that went missing now (their grace period starts). */
  released: number;
  /** The longest grace period of those clusters, in seconds. */
  grace_s: number;
}

export interface ListingChange {
  record: DiscoveryRecord;
  /** True for a cluster seen for the first time (or again after its retirement). */
  is_new: boolean;
}

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

export interface DiscoveryStore {
  ensureIndexes(): Promise<void>;
  /** Creates or replaces a discovery's settings; every apply makes it due at `now`. */
  applySetting(setting: DiscoverySetting, now: Date): Promise<ApplyResult>;
  /** The same, with the settings it replaced (the audit event's `before`). */
  applySettingChange(setting: DiscoverySetting, now: Date): Promise<AppliedSetting>;
  listSettings(): Promise<{ settings: StoredDiscoverySetting[]; invalid: InvalidStoredSetting[] }>;
  /** Makes these discoveries due at `now`; returns the names that exist. */
  makeDue(names: readonly string[], now: Date): Promise<string[]>;
  /** True when it existed. Its clusters go missing at the next discovery run. */
  deleteSetting(name: string): Promise<boolean>;
  /** Deletes a discovery; null when there was none, else the settings it had (null when they no longer validate). */
  removeSetting(name: string): Promise<{ setting: DiscoverySetting | null } | null>;
  /**
   * Sets (or with null clears) the discovery's pause; returns the pause it replaced, or null when
   * there is no such discovery. Its clusters are paused one by one by the caller; the discovery's
   * runs read it to pause the clusters they start later (ensureClusterRefreshers).
   */
  setPause(name: string, pause: ControlWindow | null): Promise<{ before: ControlWindow | null } | null>;
  /** The discovery's stored pause (expired ones included); null when none or no such discovery. */
  getPause(name: string): Promise<ControlWindow | null>;
  /** The clusters the discovery lists now (held ones included), not retired. */
  listedClusters(name: string): Promise<string[]>;
  /**
   * Claims the enabled discoveries due at `at` for one run and moves their `next_run` to
   * `at + interval` (fixed rate). A discovery is claimed by one run only; the same claimant
   * claiming again (an activity retry) gets the same discoveries back.
   */
  claimDue(at: Date, claimant: string): Promise<{ claimed: ClaimedDiscovery[]; invalid: InvalidStoredSetting[]; enabled: string[]; held: Record<string, number> }>;
  /** The stored, validated settings of one discovery; null when there is none. */
  getSetting(name: string): Promise<{ ok: true; setting: DiscoverySetting } | { ok: false; problem: string } | null>;
  recordOutcome(name: string, outcome: DiscoveryRunOutcome): Promise<void>;
  /** The active (not retired) documents of these clusters. */
  loadActive(clusterIds: readonly string[]): Promise<Map<string, StoredDiscovery>>;
  /**
   * Saves one successful run of a discovery: records, last seen, and the clusters it dropped,
   * unless the retirement guard holds them (then the hold is saved with the discovery).
   */
  saveListing(listing: DiscoveryListing): Promise<SavedListing>;
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
  claimRetirements(at: Date, run: string, enabled: readonly string[]): Promise<StoredDiscovery[]>;
  /** The cluster's CLUSTER_RETIRED is published and its workflow told. */
  completeRetirement(clusterId: string, run: string): Promise<void>;
  listClusters(): Promise<StoredDiscovery[]>;
  getCluster(clusterId: string): Promise<StoredDiscovery | null>;
}

interface SettingDocument {
  _id: string;
  name: string;
  backend: string;
  enabled: boolean;
  interval: number;
  options: unknown;
  next_run: Date;
  applied_at: Date;
  claim: { by: string; at: Date } | null;
  last_run: (Omit<DiscoveryRunOutcome, 'at'> & { at: Date }) | null;
  /** Absent in documents written before the guard existed (the defaults apply). */
  retirement_guard?: RetirementGuardSettings;
  retirement_hold?: (Omit<RetirementHold, 'since' | 'at'> & { since: Date; at: Date }) | null;
  /** Absent in documents written before discovery pauses existed. */
  pause?: ControlWindow | null;
}

/** Who won a due slot of a discovery (`run/<name>@<next_run>`) or a retirement (`retire/<cluster>@<missing_since>`). */
interface ClaimDocument {
  _id: string;
  kind: 'run' | 'retire';
  /** The discovery name or the cluster id. */
  subject: string;
  /** The claiming run. */
  by: string;
  at: Date;
}

interface RecordDocument {
  _id: string;
  cluster_id: string;
  record: DiscoveryRecord;
  discovery: string;
  listed_by: string[];
  /** Absent in documents written before the guard existed. */
  held_by?: string[];
  dropped_by?: string | null;
  first_seen: Date;
  last_seen: Date;
  record_at: Date;
  missing_since: Date | null;
  grace_s: number;
  retired_at: Date | null;
  retired_run: string | null;
  retire_done: boolean;
}

/** JSON with object keys sorted: stored and applied settings compare by content, not key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

const iso = (date: Date): string => date.toISOString();

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === duplicateKey;
}
const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

function settingFields(setting: DiscoverySetting) {
  return {
    name: setting.name,
    backend: setting.backend,
    enabled: setting.enabled,
    interval: setting.interval,
    retirement_guard: setting.retirement_guard,
    options: setting.options,
  };
}

function storedHold(doc: SettingDocument): RetirementHold | null {
  const hold = doc.retirement_hold;
  return hold ? { held: hold.held, previous: hold.previous, listed: hold.listed, since: iso(hold.since), at: iso(hold.at) } : null;
}

function parseStored(doc: SettingDocument): { ok: true; setting: DiscoverySetting } | { ok: false; problem: string } {
  const parsed = parseDiscoverySetting(settingFields(doc as unknown as DiscoverySetting), `stored discovery ${JSON.stringify(doc._id)}`);
  return parsed.ok ? { ok: true, setting: parsed.setting } : { ok: false, problem: parsed.problem };
}

function toStoredDiscovery(doc: RecordDocument): StoredDiscovery {
  return {
    cluster_id: doc.cluster_id,
    record: doc.record,
    discovery: doc.discovery,
    listed_by: doc.listed_by ?? [],
    held_by: doc.held_by ?? [],
    dropped_by: doc.dropped_by ?? null,
    first_seen: iso(doc.first_seen),
    last_seen: iso(doc.last_seen),
    record_at: iso(doc.record_at),
    missing_since: isoOrNull(doc.missing_since),
    grace_s: doc.grace_s,
    retired_at: isoOrNull(doc.retired_at),
    retired_run: doc.retired_run ?? null,
    retire_done: doc.retire_done ?? false,
  };
}

/** FerretDB holds a pooled connection per matched update until the command ends: commands stay small. */
const maxWritesPerCommand = 50;
/** A cluster's last_seen is moved on by a run that lists it unchanged at most this often. */
const lastSeenResolutionMs = 10 * 60_000;

/** Runs the writes unordered, in commands of bounded size; a duplicate key from a guarded upsert means a newer write won. */
async function writeGuarded(collection: Collection<RecordDocument>, operations: AnyBulkWriteOperation<RecordDocument>[]): Promise<void> {
  for (let start = 0; start < operations.length; start += maxWritesPerCommand) {
    try {
      await collection.bulkWrite(operations.slice(start, start + maxWritesPerCommand), { ordered: false });
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors = ([] as WriteError[]).concat(err.writeErrors as WriteError | WriteError[]);
        if (errors.every((e) => e.code === duplicateKey)) continue;
      }
      throw err;
    }
  }
}

/** Built on the worker's (or the CLI's) MongoDB database handle: one client per process. */
export function createDiscoveryStore(db: Db): DiscoveryStore {
  const settings: Collection<SettingDocument> = db.collection<SettingDocument>(discoveryCollectionNames.settings);
  const records: Collection<RecordDocument> = db.collection<RecordDocument>(discoveryCollectionNames.records);
  const claims: Collection<ClaimDocument> = db.collection<ClaimDocument>(discoveryCollectionNames.claims);
  // The cluster workflows write it; discovery only reads the operators' grace periods.
  const controls = createControlStore(db);

  /** Inserts the claim unless it exists; returns the claim that stands (ours or the winner's). */
  async function claimOnce(claim: ClaimDocument): Promise<ClaimDocument> {
    try {
      await claims.insertOne(claim);
      return claim;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const standing = await claims.findOne({ _id: claim._id });
    if (!standing) throw new Error(`claim ${claim._id} collided but cannot be read`);
    return standing;
  }

  /** Clusters nobody lists any more start their grace period now. */
  async function markUnlisted(at: Date): Promise<void> {
    await records.updateMany({ listed_by: [], missing_since: null, retired_at: null }, { $set: { missing_since: at } });
  }

  async function applySettingChange(setting: DiscoverySetting, now: Date): Promise<AppliedSetting> {
    const existing = await settings.findOne({ _id: setting.name });
    const fields = settingFields(setting);
    // The pause is the operator's, not the file's: an apply keeps it.
    await settings.updateOne(
      { _id: setting.name },
      { $set: { ...fields, next_run: now, applied_at: now }, $setOnInsert: { claim: null, last_run: null, retirement_hold: null, pause: null } },
      { upsert: true },
    );
    if (!existing) return { result: 'created', before: null };
    // Compared as parsed, so a document stored before a setting with a default existed is unchanged.
    const before = parseStored(existing);
    const unchanged = before.ok && stableJson(settingFields(before.setting)) === stableJson(fields);
    return { result: unchanged ? 'unchanged' : 'updated', before: before.ok ? before.setting : null };
  }

  return {
    async ensureIndexes() {
      await settings.createIndex({ enabled: 1, next_run: 1 }, { name: 'due' });
      await records.createIndex({ listed_by: 1 }, { name: 'listed_by' });
      await records.createIndex({ retired_at: 1, missing_since: 1 }, { name: 'retirement' });
      await claims.createIndex({ kind: 1, subject: 1 }, { name: 'subject' });
    },

    async applySetting(setting, now) {
      return (await applySettingChange(setting, now)).result;
    },

    applySettingChange,

    async listSettings() {
      const docs = await settings.find({}).sort({ _id: 1 }).toArray();
      const out: StoredDiscoverySetting[] = [];
      const invalid: InvalidStoredSetting[] = [];
      for (const doc of docs) {
        const parsed = parseStored(doc);
        if (!parsed.ok) {
          invalid.push({ name: doc._id, problem: parsed.problem });
          continue;
        }
        out.push({
          setting: parsed.setting,
          next_run: iso(doc.next_run),
          applied_at: iso(doc.applied_at),
          last_run: doc.last_run ? { ...doc.last_run, at: iso(doc.last_run.at) } : null,
          clusters: await records.countDocuments({ listed_by: doc._id, retired_at: null }),
          retirement_hold: storedHold(doc),
          pause: doc.pause ?? null,
        });
      }
      return { settings: out, invalid };
    },

    async makeDue(names, now) {
      const found: string[] = [];
      for (const name of names) {
        const result = await settings.updateOne({ _id: name }, { $set: { next_run: now } });
        if (result.matchedCount === 1) found.push(name);
      }
      return found;
    },

    async deleteSetting(name) {
      const result = await settings.deleteOne({ _id: name });
      return result.deletedCount === 1;
    },

    async removeSetting(name) {
      const existing = await settings.findOne({ _id: name });
      if (!existing) return null;
      const result = await settings.deleteOne({ _id: name });
      if (result.deletedCount !== 1) return null;
      const parsed = parseStored(existing);
      return { setting: parsed.ok ? parsed.setting : null };
    },

    async setPause(name, pause) {
      const existing = await settings.findOne({ _id: name }, { projection: { pause: 1 } });
      if (!existing) return null;
      await settings.updateOne({ _id: name }, { $set: { pause } });
      return { before: existing.pause ?? null };
    },

    async getPause(name) {
      const doc = await settings.findOne({ _id: name }, { projection: { pause: 1 } });
      return doc?.pause ?? null;
    },

    async listedClusters(name) {
      const docs = await records.find({ listed_by: name, retired_at: null }, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray();
      return docs.map((doc) => doc._id);
    },

    async claimDue(at, claimant) {
      const candidates = await settings.find({ enabled: true }).sort({ _id: 1 }).toArray();
      const claimed: ClaimedDiscovery[] = [];
      const invalid: InvalidStoredSetting[] = [];
      for (const doc of candidates) {
        let mine: boolean;
        if (doc.next_run.getTime() <= at.getTime()) {
          const slot = `run/${doc._id}@${iso(doc.next_run)}`;
          mine = (await claimOnce({ _id: slot, kind: 'run', subject: doc._id, by: claimant, at })).by === claimant;
          if (mine) {
            // Guarded by the slot: an apply meanwhile (due at once again) is not undone.
            await settings.updateOne(
              { _id: doc._id, next_run: doc.next_run },
              { $set: { next_run: new Date(at.getTime() + doc.interval * 1000), claim: { by: claimant, at } } },
            );
            await claims.deleteMany({ kind: 'run', subject: doc._id, _id: { $ne: slot } });
          }
        } else {
          // Not due any more: because this very run claimed it before (the activity is retried)?
          mine = (await claims.findOne({ kind: 'run', subject: doc._id, by: claimant })) !== null;
        }
        if (!mine) continue;
        const parsed = parseStored(doc);
        if (parsed.ok) claimed.push({ name: parsed.setting.name, interval: parsed.setting.interval });
        else invalid.push({ name: doc._id, problem: parsed.problem });
      }
      // Read anyway: the worker's gauge of held retirements follows every tick.
      const held = Object.fromEntries(candidates.map((doc) => [doc._id, doc.retirement_hold?.held ?? 0]));
      return { claimed, invalid, enabled: candidates.map((doc) => doc._id), held };
    },

    async getSetting(name) {
      const doc = await settings.findOne({ _id: name });
      return doc ? parseStored(doc) : null;
    },

    async recordOutcome(name, outcome) {
      const at = new Date(outcome.at);
      // An older run finishing late never hides a newer outcome.
      await settings.updateOne(
        { _id: name, $or: [{ last_run: null }, { 'last_run.at': { $lte: at } }] },
        { $set: { last_run: { ...outcome, at } } },
      );
    },

    async loadActive(clusterIds) {
      const out = new Map<string, StoredDiscovery>();
      if (clusterIds.length === 0) return out;
      const docs = await records.find({ _id: { $in: [...clusterIds] }, retired_at: null }).toArray();
      for (const doc of docs) out.set(doc._id, toStoredDiscovery(doc));
      return out;
    },

    async saveListing(listing) {
      const at = new Date(listing.at);
      // Records: a guarded upsert each. A retired document is replaced (the cluster is back);
      // an active one only by a run at least as recent as the one that wrote it.
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
      // Clusters never seen: plain inserts, the cheap write on every store (a thousand new clusters
      // at once are a first run). One that exists after all (back after its retirement, or a racing
      // run) falls through to the guarded upsert below.
      const fresh = listing.changes.filter((change) => change.is_new);
      const existing = new Set(listing.changes.filter((change) => !change.is_new).map((change) => change.record.cluster_id));
      for (let start = 0; start < fresh.length; start += maxWritesPerCommand) {
        const chunk = fresh.slice(start, start + maxWritesPerCommand);
        try {
          await records.insertMany(
            chunk.map(({ record }) => ({ _id: record.cluster_id, ...recordDocument(record), ...freshLifecycle })),
            { ordered: false },
          );
        } catch (err) {
          if (!(err instanceof MongoBulkWriteError)) throw err;
          const errors = ([] as WriteError[]).concat(err.writeErrors as WriteError | WriteError[]);
          if (!errors.every((e) => e.code === duplicateKey)) throw err;
          for (const e of errors) existing.add(chunk[e.index]!.record.cluster_id);
        }
      }
      await writeGuarded(
        records,
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
      const name = listing.discovery;
      // Before the listing is written: what the discovery vouched for until now, and which of
      // those clusters another discovery lists too (they would not go missing).
      const previous = await records
        .find(
          { retired_at: null, $or: [{ listed_by: name }, { dropped_by: name, missing_since: { $ne: null } }] },
          { projection: { _id: 1, listed_by: 1 } },
        )
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

      if (listing.listed.length > 0) {
        // Only documents not yet in the listed state are matched: a run over an unchanged
        // listing writes nothing (last_seen moves on at most every lastSeenResolutionMs).
        await records.updateMany(
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

      if (decision.hold) {
        // The clusters it dropped stay listed by it (those in their grace period are listed
        // again): nothing goes missing, nothing retires, their refreshers go on.
        await records.updateMany(
          {
            _id: { $in: decision.missing },
            retired_at: null,
            $or: [{ listed_by: { $ne: name } }, { held_by: { $ne: name } }, { missing_since: { $ne: null } }],
          },
          { $set: { missing_since: null, dropped_by: null }, $addToSet: { listed_by: name, held_by: name } },
        );
        // Held before, and now listed elsewhere: no longer this discovery's to hold.
        await records.updateMany({ held_by: name, _id: { $nin: decision.missing } }, { $pull: { held_by: name } });
        const since = setting?.retirement_hold?.since ?? at;
        const hold = { held: decision.missing.length, previous: decision.previous, listed: decision.listed, since, at };
        // An older run finishing late never overwrites a newer hold.
        await settings.updateOne({ _id: name, $or: [{ 'retirement_hold.at': { $lte: at } }, { retirement_hold: null }] }, { $set: { retirement_hold: hold } });
        return { hold: { ...hold, since: iso(since), at: listing.at } };
      }

      // Clusters this discovery listed before and not now: it no longer vouches for them.
      await records.updateMany(
        { listed_by: name, _id: { $nin: listing.listed }, retired_at: null },
        { $pull: { listed_by: name, held_by: name }, $set: { dropped_by: name } },
      );
      await markUnlisted(at);
      await settings.updateOne({ _id: name, retirement_hold: { $ne: null } }, { $set: { retirement_hold: null } });
      return { hold: null };
    },

    async releaseHold(name, now) {
      const setting = await settings.findOne({ _id: name });
      if (!setting) return null;
      const held = await records.find({ held_by: name, retired_at: null }, { projection: { _id: 1, grace_s: 1 } }).toArray();
      if (held.length > 0) {
        // Accepted: the discovery no longer vouches for them, and they do not count as its
        // dropped clusters either (the next run is measured against what it lists now).
        const ids = held.map((doc) => doc._id);
        await records.updateMany({ _id: { $in: ids } }, { $pull: { listed_by: name, held_by: name }, $set: { dropped_by: null } });
        await records.updateMany({ _id: { $in: ids }, listed_by: [], missing_since: null, retired_at: null }, { $set: { missing_since: now } });
      }
      await settings.updateOne({ _id: name }, { $set: { retirement_hold: null } });
      return { hold: storedHold(setting), released: held.length, grace_s: Math.max(0, ...held.map((doc) => doc.grace_s)) };
    },

    async claimRetirements(at, run, enabled) {
      const listedBy: string[] = await records.distinct('listed_by', { retired_at: null });
      const gone = listedBy.filter((name) => !enabled.includes(name));
      if (gone.length > 0) {
        // Deleting or disabling a discovery is an operator's decision: its holds go with it.
        await records.updateMany({ listed_by: { $in: gone }, retired_at: null }, { $pullAll: { listed_by: gone, held_by: gone } });
        await settings.updateMany({ _id: { $in: gone }, retirement_hold: { $ne: null } }, { $set: { retirement_hold: null } });
      }
      await markUnlisted(at);

      const missing = await records.find({ retired_at: null, missing_since: { $ne: null } }).toArray();
      // An operator's cluster_retire_grace_s (`fleetview cluster set`) wins over the listing's grace
      // period: read for the missing clusters only, in one query.
      const overrides = await controls.loadMany(missing.map((doc) => doc._id));
      for (const doc of missing) {
        const graceS = overrides.get(doc._id)?.operator.cluster_retire_grace_s ?? doc.grace_s;
        if (doc.missing_since === null || doc.missing_since.getTime() + graceS * 1000 > at.getTime()) continue;
        // Racing runs write the winner's run and time alike, so the cluster gets one CLUSTER_RETIRED id.
        const claim = await claimOnce({ _id: `retire/${doc._id}@${iso(doc.missing_since)}`, kind: 'retire', subject: doc._id, by: run, at });
        // Still unlisted and missing since the same moment: a run that listed it meanwhile wins.
        // The grace period applied is kept, so the retirement's reason names it.
        await records.updateOne(
          { _id: doc._id, retired_at: null, listed_by: [], missing_since: doc.missing_since },
          { $set: { retired_at: claim.at, retired_run: claim.by, grace_s: graceS } },
        );
      }
      const pending = await records.find({ retired_at: { $ne: null }, retire_done: false }).sort({ _id: 1 }).toArray();
      return pending.map(toStoredDiscovery);
    },

    async completeRetirement(clusterId, run) {
      await records.updateOne({ _id: clusterId, retired_run: run }, { $set: { retire_done: true } });
    },

    async listClusters() {
      return (await records.find({}).sort({ _id: 1 }).toArray()).map(toStoredDiscovery);
    },

    async getCluster(clusterId) {
      const doc = await records.findOne({ _id: clusterId });
      return doc ? toStoredDiscovery(doc) : null;
    },
  };
}
