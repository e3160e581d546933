/**
 * One readable line per event, for `fleetview events` and the demo:
 *
 *   2026-11-24T10:00:00.000Z  rs0  NODE_DOWN  mongo-2:27017  UP -> NODE_DOWN: connection refused
 */
import type { Actor, EffectiveSetting } from '../domain/cluster-controls.js';
import type { NodeRef } from '../domain/cluster-view.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import type { NodeStatus, ShardRole } from '../domain/observation.js';

function status(value: NodeStatus | null): string {
  return value === null ? 'none' : value.code;
}

function role(value: ShardRole): string {
  return typeof value === 'string' ? value : `unknown(${value.unknown})`;
}

function nodes(refs: NodeRef[]): string {
  return refs.length === 0 ? 'none' : refs.map((ref) => ref.node_id ?? ref.address).join(', ');
}

function membershipChange(before: DiscoveryRecord, after: DiscoveryRecord): string {
  const was = new Set(before.nodes.map((node) => node.agent_address));
  const is = new Set(after.nodes.map((node) => node.agent_address));
  const parts = [
    ...after.nodes.filter((node) => !was.has(node.agent_address)).map((node) => `+${node.agent_address}`),
    ...before.nodes.filter((node) => !is.has(node.agent_address)).map((node) => `-${node.agent_address}`),
  ];
  if (before.display_name !== after.display_name) parts.push(`name ${JSON.stringify(before.display_name)} -> ${JSON.stringify(after.display_name)}`);
  return `${before.nodes.length} -> ${after.nodes.length} nodes${parts.length ? `: ${parts.join(' ')}` : ''}`;
}

function withReason(text: string, value: NodeStatus): string {
  return value.reason ? `${text}: ${value.reason}` : text;
}

/** What changed, in a few words. */
export function eventDetail(event: FleetEvent): string {
  switch (event.event) {
    case 'CLUSTER_NEW':
      return `${event.payload.nodes.length} nodes${event.payload.display_name ? ` (${event.payload.display_name})` : ''}`;
    case 'CLUSTER_CHANGED':
      return membershipChange(event.payload.before, event.payload.after);
    case 'CLUSTER_STATUS_CHANGED':
      return `${event.payload.before ?? 'none'} -> ${event.payload.after}`;
    case 'CLUSTER_RETIRED':
      return event.payload.last_record ? `last listed with ${event.payload.last_record.nodes.length} nodes` : 'no longer listed';
    case 'AGENT_NEW':
      return withReason(`${event.payload.address} ${event.payload.status.code}`, event.payload.status);
    case 'AGENT_UP':
    case 'AGENT_DOWN':
    case 'NODE_UP':
    case 'NODE_DOWN':
      return withReason(`${status(event.payload.before)} -> ${event.payload.after.code}`, event.payload.after);
    case 'AGENT_INFO_NEW':
      return `agent ${event.payload.version.number}`;
    case 'AGENT_INFO_CHANGED':
      return `agent ${event.payload.before.version.number} -> ${event.payload.after.version.number}`;
    case 'NODE_NEW':
      return `${event.payload.kind} ${event.payload.version}`;
    case 'NODE_CHANGED': {
      const { before, after } = event.payload;
      const fields = (['kind', 'version', 'cluster_id', 'node_id', 'cluster_display_name'] as const).filter((field) => before[field] !== after[field]);
      return fields.map((field) => `${field} ${String(before[field])} -> ${String(after[field])}`).join(', ') || 'changed';
    }
    case 'NODE_RETIRED':
      return `left discovery at ${event.payload.left_discovery_at}, last ${event.payload.last_status.code}`;
    case 'SHARD_ALLOCATION_NEW':
      return `shard ${event.payload.id} ${role(event.payload.role)}`;
    case 'SHARD_ALLOCATION_CHANGED':
      return `shard ${event.payload.after.id} ${role(event.payload.before.role)} -> ${role(event.payload.after.role)}`;
    case 'SHARD_ALLOCATION_REMOVED':
      return `shard ${event.payload.id}`;
    case 'SHARD_PRIMARY_CHANGED':
    case 'SHARD_PRIMARY_LOST':
    case 'SHARD_PRIMARY_CONFLICT':
      return `shard ${event.payload.shard_id}: ${nodes(event.payload.before)} -> ${nodes(event.payload.after)}`;
    case 'CLUSTER_SETTINGS_CHANGED':
      return `${by(event.payload.actor)}: ${event.payload.changes.map((change) => `${change.setting} ${setting(change.before)} -> ${setting(change.after)}`).join(', ')}`;
    case 'CLUSTER_PAUSED':
    case 'CLUSTER_MAINTENANCE_STARTED':
      return `${by(event.payload.actor)} until ${event.payload.until ?? 'resumed'}: ${event.payload.reason}`;
    case 'CLUSTER_RESUMED':
    case 'CLUSTER_MAINTENANCE_ENDED':
      return `${event.payload.ended_by ? by(event.payload.ended_by) : 'expired'} (${event.payload.window.reason})`;
    case 'CLUSTER_REFRESH_REQUESTED':
      return `${by(event.payload.actor)}${event.payload.wait ? ', waiting for its report' : ''}`;
    case 'DISCOVERY_APPLIED':
      return `${event.payload.discovery} ${event.payload.before ? 'changed' : 'created'} ${by(event.payload.actor)}`;
    case 'DISCOVERY_DELETED':
      return `${event.payload.discovery} ${by(event.payload.actor)}`;
    case 'DISCOVERY_PAUSED':
    case 'DISCOVERY_RESUMED':
      return `${event.payload.discovery}, ${event.payload.clusters} clusters, ${by(event.payload.actor)}${event.payload.reason ? `: ${event.payload.reason}` : ''}`;
    case 'RETIREMENT_HOLD_RELEASED':
      return `${event.payload.discovery}, ${event.payload.released} clusters ${by(event.payload.actor)}`;
  }
}

function by(actor: Actor): string {
  return `by ${actor.user}`;
}

function setting(value: EffectiveSetting): string {
  return value.value === null ? 'unset' : `${value.value} (${value.source})`;
}

/** The node an event is about: its datastore id when known, else its agent address. */
export function eventSubject(event: FleetEvent): string {
  if (event.node_id) return event.node_id;
  const payload = event.payload as { address?: unknown };
  return typeof payload.address === 'string' ? payload.address : '-';
}

export function formatEvent(event: FleetEvent): string {
  return [event.timestamp, (event.cluster_id ?? '-').padEnd(16), event.event.padEnd(24), eventSubject(event), eventDetail(event)].join('  ');
}
