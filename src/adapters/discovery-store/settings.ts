/** Discovery settings as operators apply them, their schedule (`next_run`) and their pause. */
import type { ControlWindow } from '../../domain/cluster-controls.js';
import type { DiscoveryRunOutcome, InvalidStoredSetting } from '../../domain/discovery-run.js';
import type { RetirementHold } from '../../domain/retirement-guard.js';
import type { DiscoverySetting } from '../discovery/settings.js';
import type { DiscoveryCollections } from './collections.js';
import { iso, parseStored, settingFields, storedHold, type ParsedSetting } from './documents.js';

export type ApplyResult = 'created' | 'updated' | 'unchanged';

/** What an apply did, and the settings it replaced (null: none, or stored ones that no longer validate). */
export interface AppliedSetting {
  result: ApplyResult;
  before: DiscoverySetting | null;
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

export interface SettingsStore {
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
  /** The stored, validated settings of one discovery; null when there is none. */
  getSetting(name: string): Promise<ParsedSetting | null>;
}

/** JSON with object keys sorted: stored and applied settings compare by content, not key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

export function createSettingsStore({ settings, clusters }: DiscoveryCollections): SettingsStore {
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
          clusters: await clusters.countDocuments({ listed_by: doc._id, retired_at: null }),
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

    async getSetting(name) {
      const doc = await settings.findOne({ _id: name });
      return doc ? parseStored(doc) : null;
    },
  };
}
