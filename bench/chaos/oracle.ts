/**
 * The oracle: the scripted changes (each with its sim change log `seq`, `at_ms` and the event
 * keys the model says it must cause) against every message on the events topic.
 *
 * - duplicates by id: another copy of an id with the same content (at-least-once redelivery:
 *   reported, allowed); reused ids: another copy with different content (never allowed);
 * - per cluster, its unique events in topic order are matched to its expected keys: an event
 *   matches a key of a change made before it was first read from the topic (the live reader's
 *   arrival time; an event's own timestamp, which fleetview also gives Kafka, is the time of the
 *   refresh or of the discovery run's slot, which may precede what it reports), the earliest
 *   such key at or after the last match (changes, and a change's stages, in order); a match
 *   behind the last one is out of order; an event that matches nothing is invented;
 * - expected keys left unmatched are lost; CLUSTER_RETIRED is never expected (retired);
 * - refresh event ids within a cluster must grow in topic order, and an id's index must follow
 *   the previous one of its generation (a gap is an event missing from a refresh);
 * - detection: per change, from its `at_ms` until it was reported: the arrival of the last of
 *   its discovery events and first-stage refresh events (a node leaving: CLUSTER_CHANGED and
 *   the refresh that drops it; NODE_RETIRED, which waits out the grace period by design, is
 *   not counted).
 * Findings are attributed to the row (onboarding, baseline, each fault) whose window holds the
 * change (lost) or the event's arrival (the others; a duplicate copy by its Kafka timestamp).
 */
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { eventKey, isDiscoveryEvent } from './model.js';
import type { ScriptedChange } from './script.js';
import type { TopicMessage } from './topic.js';

/** An event never arrives before the change that caused it; this much slack is allowed (one clock, ms rounding). */
const clockSlackMs = 5;
const keptExamples = 20;

export interface Window {
  name: string;
  startMs: number;
  endMs: number;
}

export interface Finding {
  cluster: string;
  key: string;
  detail: string;
  at_ms: number;
}

export interface RowCounts {
  changes: number;
  lost: number;
  invented: number;
  duplicates_by_id: number;
  reused_ids: number;
  out_of_order: number;
  retired: number;
}

export interface OracleResult {
  messages: number;
  unique_events: number;
  expected_keys: number;
  matched_keys: number;
  totals: RowCounts & { id_order_violations: number; id_gaps: number; unreadable: number };
  rows: Record<string, RowCounts>;
  /** Per change: from the change until it was reported (ms; see the header), for changes whose events all came. */
  detection_ms: Map<ScriptedChange, number>;
  examples: { lost: Finding[]; invented: Finding[]; reused_ids: Finding[]; out_of_order: Finding[]; retired: Finding[]; id_order: Finding[] };
}

interface Expectation {
  change: ScriptedChange;
  key: string;
  /** Position among the cluster's refresh expectations: change index, then stage. */
  rank: number;
  matchedMs: number | null;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function isEvent(value: unknown): value is FleetEvent {
  const v = value as Partial<FleetEvent> | null;
  return typeof v?.id === 'string' && typeof v.event === 'string' && typeof v.cluster_id === 'string';
}

export function judge(messages: readonly TopicMessage[], changes: readonly ScriptedChange[], windows: readonly Window[], arrivals: ReadonlyMap<string, number>): OracleResult {
  const rows: Record<string, RowCounts> = Object.fromEntries(
    windows.map((w) => [w.name, { changes: 0, lost: 0, invented: 0, duplicates_by_id: 0, reused_ids: 0, out_of_order: 0, retired: 0 }]),
  );
  const rowAt = (ms: number): RowCounts => {
    const window = windows.find((w) => ms >= w.startMs && ms < w.endMs) ?? (ms < (windows[0]?.startMs ?? 0) ? windows[0] : windows.at(-1));
    return rows[window!.name]!;
  };
  const examples: OracleResult['examples'] = { lost: [], invented: [], reused_ids: [], out_of_order: [], retired: [], id_order: [] };
  const note = (list: Finding[], finding: Finding): void => void (list.length < keptExamples && list.push(finding));
  const totals = { changes: changes.length, lost: 0, invented: 0, duplicates_by_id: 0, reused_ids: 0, out_of_order: 0, retired: 0, id_order_violations: 0, id_gaps: 0, unreadable: 0 };
  for (const change of changes) rowAt(change.at_ms).changes += 1;

  // Copies by id.
  const firstById = new Map<string, { content: string; event: FleetEvent; ms: number }>();
  const unique: { event: FleetEvent; ms: number }[] = [];
  for (const { value, meta } of messages) {
    if (!isEvent(value)) {
      totals.unreadable += 1;
      continue;
    }
    const content = canonical(value);
    const first = firstById.get(value.id);
    if (first === undefined) {
      // Every event reaches the live reader; one it missed is placed by its Kafka timestamp, never held against a change.
      const arrived = arrivals.get(value.id);
      firstById.set(value.id, { content, event: value, ms: arrived ?? meta.timestampMs });
      unique.push({ event: value, ms: arrived ?? Number.MAX_SAFE_INTEGER });
    } else if (first.content === content) {
      totals.duplicates_by_id += 1;
      rowAt(meta.timestampMs).duplicates_by_id += 1;
    } else {
      totals.reused_ids += 1;
      rowAt(meta.timestampMs).reused_ids += 1;
      note(examples.reused_ids, { cluster: value.cluster_id ?? '-', key: value.id, detail: `first ${eventKey(first.event)} (arrived ${new Date(first.ms).toISOString()}), then ${eventKey(value)} (timestamp ${value.timestamp}, partition ${meta.partition} offset ${meta.offset})`, at_ms: meta.timestampMs });
    }
  }

  // Expectations per cluster.
  const refresh = new Map<string, Expectation[]>();
  const discovery = new Map<string, Expectation[]>();
  for (const change of changes) {
    const r = refresh.get(change.cluster) ?? [];
    const d = discovery.get(change.cluster) ?? [];
    refresh.set(change.cluster, r);
    discovery.set(change.cluster, d);
    change.stages.forEach((stage, s) => {
      for (const key of stage) r.push({ change, key, rank: change.index * 16 + s, matchedMs: null });
    });
    for (const key of change.discovery) d.push({ change, key, rank: change.index, matchedMs: null });
  }

  const byCluster = new Map<string, { event: FleetEvent; ms: number }[]>();
  for (const item of unique) {
    if (item.event.cluster_id === null) continue;
    const list = byCluster.get(item.event.cluster_id) ?? [];
    list.push(item);
    byCluster.set(item.event.cluster_id, list);
  }

  let expectedKeys = 0;
  let matchedKeys = 0;
  for (const cluster of new Set([...refresh.keys(), ...byCluster.keys()])) {
    const expectations = refresh.get(cluster) ?? [];
    const discoveryExpectations = discovery.get(cluster) ?? [];
    let cursor = -1;
    let lastId: { generation: number; index: number } | null = null;
    for (const { event, ms } of byCluster.get(cluster) ?? []) {
      const key = eventKey(event);
      if (event.event === 'CLUSTER_RETIRED') {
        totals.retired += 1;
        rowAt(ms).retired += 1;
        note(examples.retired, { cluster, key, detail: event.id, at_ms: ms });
      }
      if (isDiscoveryEvent(event)) {
        const match = discoveryExpectations.find((e) => e.matchedMs === null && e.key === key && e.change.at_ms <= ms + clockSlackMs);
        if (match) match.matchedMs = ms;
        else if (event.event !== 'CLUSTER_RETIRED') {
          totals.invented += 1;
          rowAt(ms).invented += 1;
          note(examples.invented, { cluster, key, detail: `${event.id} (timestamp ${event.timestamp}) arrived ${ms === Number.MAX_SAFE_INTEGER ? 'never live' : new Date(ms).toISOString()}`, at_ms: ms });
        }
        continue;
      }
      const [, generationText, indexText] = event.id.slice(cluster.length).split('/');
      const id = { generation: Number(generationText), index: Number(indexText) };
      if (lastId !== null) {
        const grows = id.generation > lastId.generation ? id.index === 0 : id.generation === lastId.generation && id.index === lastId.index + 1;
        if (!grows) {
          if (id.generation > lastId.generation || (id.generation === lastId.generation && id.index > lastId.index)) totals.id_gaps += 1;
          else totals.id_order_violations += 1;
          note(examples.id_order, { cluster, key, detail: `${event.id} after ${cluster}/${lastId.generation}/${lastId.index}`, at_ms: ms });
        }
      } else if (id.index !== 0) {
        totals.id_gaps += 1;
        note(examples.id_order, { cluster, key, detail: `${event.id} is the cluster's first refresh event`, at_ms: ms });
      }
      lastId = id;
      const candidates = expectations.filter((e) => e.matchedMs === null && e.key === key && e.change.at_ms <= ms + clockSlackMs);
      const ahead = candidates.filter((e) => e.rank >= cursor).sort((a, b) => a.rank - b.rank)[0];
      const behind = candidates.filter((e) => e.rank < cursor).sort((a, b) => b.rank - a.rank)[0];
      const match = ahead ?? behind;
      if (!match) {
        totals.invented += 1;
        rowAt(ms).invented += 1;
        note(examples.invented, { cluster, key, detail: `${event.id} (timestamp ${event.timestamp}) arrived ${ms === Number.MAX_SAFE_INTEGER ? 'never live' : new Date(ms).toISOString()}`, at_ms: ms });
        continue;
      }
      match.matchedMs = ms;
      if (match === behind) {
        totals.out_of_order += 1;
        rowAt(ms).out_of_order += 1;
        note(examples.out_of_order, { cluster, key, detail: `${event.id} belongs to change ${match.change.index} (${match.change.what}) but came after events of a later change`, at_ms: ms });
      } else cursor = match.rank;
    }
    for (const e of [...expectations, ...discoveryExpectations]) {
      expectedKeys += 1;
      if (e.matchedMs !== null) {
        matchedKeys += 1;
        continue;
      }
      totals.lost += 1;
      rowAt(e.change.at_ms).lost += 1;
      note(examples.lost, { cluster, key: e.key, detail: `change ${e.change.index} (${e.change.what}, sim seq ${e.change.seq}) at ${new Date(e.change.at_ms).toISOString()}`, at_ms: e.change.at_ms });
    }
  }

  const detection = new Map<ScriptedChange, number>();
  const reported = new Map<ScriptedChange, number | null>();
  for (const list of [...refresh.values(), ...discovery.values()]) {
    for (const e of list) {
      const firstStage = e.change.discovery.includes(e.key) || e.rank % 16 === 0;
      if (!firstStage) continue;
      const known = reported.get(e.change);
      if (known === null) continue;
      reported.set(e.change, e.matchedMs === null ? null : Math.max(known ?? 0, e.matchedMs));
    }
  }
  for (const [change, ms] of reported) if (ms !== null) detection.set(change, Math.max(0, ms - change.at_ms));

  return {
    messages: messages.length,
    unique_events: unique.length,
    expected_keys: expectedKeys,
    matched_keys: matchedKeys,
    totals,
    rows,
    detection_ms: detection,
    examples,
  };
}
