/**
 * Events of the discovery side (CLUSTER_NEW, CLUSTER_CHANGED, CLUSTER_RETIRED), built from
 * records rather than views. They belong to no refresh, so they carry generation 0 and their
 * own deterministic id:
 *
 *   `<cluster_id>/discovery/<run>/<EVENT>`
 *
 * `run` names the discovery run and must be the same on every retry and replay of that run and
 * different across runs: e.g. `<setting name>@<scheduled time ISO>`. A run emits at most one
 * event of each code per cluster, so the code ends the id. In `run`, `%` and `/` are
 * percent-encoded so the id keeps exactly four `/`-separated parts; the literal `discovery`
 * segment is never a number, so these ids never collide with refresh ids.
 */
import { sameJson } from './canonical-forms.js';
import { canonicalDiscoveryRecord } from './discovery-record.js';
import type { DiscoveryRecord } from './discovery-record.js';
import { envelope } from './event-catalogue.js';
import type { EventCode, EventDraft, EventEnvelope, FleetEvent } from './event-catalogue.js';

export interface DiscoveryEventContext {
  /** The discovery run's deterministic name (see above). */
  run: string;
  /** Workflow time of the run (ISO 8601). */
  timestamp: string;
}

export function discoveryEventId(clusterId: string, run: string, event: EventCode): string {
  return `${clusterId}/discovery/${run.replace(/%/g, '%25').replace(/\//g, '%2F')}/${event}`;
}

/** True when the two records list the same membership and display name (node order aside). */
export function sameDiscoveryRecord(a: DiscoveryRecord, b: DiscoveryRecord): boolean {
  return sameJson(canonicalDiscoveryRecord(a), canonicalDiscoveryRecord(b));
}

/**
 * The events for a record seen by a discovery run: CLUSTER_NEW when nothing was stored,
 * CLUSTER_CHANGED when the stored record differs, nothing otherwise. Payloads hold canonical
 * records.
 */
export function discoveryEvents(
  stored: DiscoveryRecord | null,
  seen: DiscoveryRecord,
  context: DiscoveryEventContext,
): FleetEvent[] {
  if (stored !== null && stored.cluster_id !== seen.cluster_id) {
    throw new Error(`cannot compare records of different clusters: ${stored.cluster_id} and ${seen.cluster_id}`);
  }
  const after = canonicalDiscoveryRecord(seen);
  if (stored === null) return [discoveryEvent(seen.cluster_id, { event: 'CLUSTER_NEW', node_id: null, payload: after }, context)];
  const before = canonicalDiscoveryRecord(stored);
  if (sameJson(before, after)) return [];
  return [discoveryEvent(seen.cluster_id, { event: 'CLUSTER_CHANGED', node_id: null, payload: { before, after } }, context)];
}

/** CLUSTER_RETIRED: no enabled discovery lists the cluster any more, past the grace period. */
export function clusterRetiredEvent(
  clusterId: string,
  lastRecord: DiscoveryRecord | null,
  context: DiscoveryEventContext,
): EventEnvelope<'CLUSTER_RETIRED'> {
  const last_record = lastRecord === null ? null : canonicalDiscoveryRecord(lastRecord);
  const event = discoveryEvent(
    clusterId,
    { event: 'CLUSTER_RETIRED', node_id: null, payload: { cluster_id: clusterId, last_record } },
    context,
  );
  return event as EventEnvelope<'CLUSTER_RETIRED'>;
}

function discoveryEvent(clusterId: string, draft: EventDraft, context: DiscoveryEventContext): FleetEvent {
  return envelope(draft, {
    id: discoveryEventId(clusterId, context.run, draft.event),
    cluster_id: clusterId,
    generation: 0,
    timestamp: context.timestamp,
  });
}
