/**
 * The discovery store's documents as stored (times as Dates), and as callers see them (times in
 * ISO 8601, defaults for fields that older documents lack).
 */
import type { ControlWindow } from '../../domain/cluster-controls.js';
import type { DiscoveryRecord } from '../../domain/discovery-record.js';
import type { DiscoveryRunOutcome } from '../../domain/discovery-run.js';
import type { RetirementGuardSettings, RetirementHold } from '../../domain/retirement-guard.js';
import { parseDiscoverySetting, type DiscoverySetting } from '../discovery/settings.js';

/** One discovery's settings, schedule, claim, last outcome and hold (`_id` = its name). */
export interface SettingDocument {
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
export interface ClaimDocument {
  _id: string;
  kind: 'run' | 'retire';
  /** The discovery name or the cluster id. */
  subject: string;
  /** The claiming run. */
  by: string;
  at: Date;
}

/** One discovered cluster (`_id` = its cluster id), as stored. */
export interface DiscoveredClusterDocument {
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

/** One discovered cluster: its last record and where it is in its lifecycle. Times are ISO 8601. */
export interface DiscoveredCluster {
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

export type ParsedSetting = { ok: true; setting: DiscoverySetting } | { ok: false; problem: string };

export const iso = (date: Date): string => date.toISOString();
const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

/** The fields of a settings document that are the operator's settings. */
export function settingFields(setting: DiscoverySetting) {
  return {
    name: setting.name,
    backend: setting.backend,
    enabled: setting.enabled,
    interval: setting.interval,
    retirement_guard: setting.retirement_guard,
    options: setting.options,
  };
}

export function storedHold(doc: SettingDocument): RetirementHold | null {
  const hold = doc.retirement_hold;
  return hold ? { held: hold.held, previous: hold.previous, listed: hold.listed, since: iso(hold.since), at: iso(hold.at) } : null;
}

/** Stored settings, validated again: another version may have written them. */
export function parseStored(doc: SettingDocument): ParsedSetting {
  const parsed = parseDiscoverySetting(settingFields(doc as unknown as DiscoverySetting), `stored discovery ${JSON.stringify(doc._id)}`);
  return parsed.ok ? { ok: true, setting: parsed.setting } : { ok: false, problem: parsed.problem };
}

export function toDiscoveredCluster(doc: DiscoveredClusterDocument): DiscoveredCluster {
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
