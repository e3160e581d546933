/**
 * Canonical copies of observed data. The view never shares objects with its inputs, and every
 * object is rebuilt with a fixed key order, so equal data serializes to equal JSON whatever the
 * agent client sent: that makes comparisons cheap and output byte-for-byte reproducible.
 */
import type { AgentInfo, DatastoreInfo, NodeStatus, Offset, OffsetUnit, Shard, ShardRole } from './observation.js';

/** Code-unit order: locale-independent, so every runtime sorts the same way. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A reason only accompanies a DOWN status. */
export function canonicalStatus(status: NodeStatus): NodeStatus {
  if (status.code === 'UP' || status.reason === undefined) return { code: status.code };
  return { code: status.code, reason: status.reason };
}

export function canonicalAgentInfo(info: AgentInfo): AgentInfo {
  const { checkout, number, taint } = info.version;
  return { version: { checkout, number, taint } };
}

export function canonicalDatastoreInfo(info: DatastoreInfo): DatastoreInfo {
  return {
    cluster_id: info.cluster_id,
    node_id: info.node_id,
    kind: info.kind,
    version: info.version,
    cluster_display_name: info.cluster_display_name ?? null,
  };
}

/** Roles are lowercase on output; a role text that is neither primary nor secondary is unknown. */
export function canonicalRole(role: ShardRole): ShardRole {
  if (typeof role === 'string') {
    const lower = role.toLowerCase();
    if (lower === 'primary' || lower === 'secondary') return lower;
    return { unknown: role };
  }
  return { unknown: role.unknown };
}

/** A comparable key for a role: `primary`, `secondary` or `unknown:<text>`. */
export function roleKey(role: ShardRole): string {
  return typeof role === 'string' ? role : `unknown:${role.unknown}`;
}

export function isPrimary(role: ShardRole): boolean {
  return role === 'primary';
}

export function canonicalOffsetUnit(unit: OffsetUnit): OffsetUnit {
  return typeof unit === 'string' ? unit : { unit: unit.unit };
}

/** `seconds` sorts before every custom unit. */
export function offsetUnitKey(unit: OffsetUnit): string {
  return typeof unit === 'string' ? `0:${unit}` : `1:${unit.unit}`;
}

export function canonicalOffset(offset: Offset | null | undefined): Offset | null {
  if (offset === null || offset === undefined) return null;
  return { unit: canonicalOffsetUnit(offset.unit), value: offset.value };
}

export function canonicalShard(shard: Shard): Shard {
  return {
    id: shard.id,
    role: canonicalRole(shard.role),
    commit_offset: canonicalOffset(shard.commit_offset),
    lag: canonicalOffset(shard.lag),
  };
}

/**
 * Canonical shards of one report, sorted by id. A shard id reported twice keeps its first
 * occurrence: the agent's order is part of the (replayed) input, so this stays deterministic.
 */
export function canonicalShards(shards: readonly Shard[]): Shard[] {
  const seen = new Set<string>();
  const result: Shard[] = [];
  for (const shard of shards) {
    if (seen.has(shard.id)) continue;
    seen.add(shard.id);
    result.push(canonicalShard(shard));
  }
  return result.sort((a, b) => compareStrings(a.id, b.id));
}

/** Equality of canonical values (same key order by construction). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
