/**
 * What of a cluster view is state, as opposed to measurement. Every refresh moves the generation,
 * the refresh time, the last-success times, offsets and lag, and may reword a DOWN reason; none of
 * that is a change of the cluster. The store is written when the material view changes (and at a
 * bounded rate otherwise), so a refresh in which nothing happened writes nothing.
 */
import type { ClusterView, ShardSummary, ViewNode } from './cluster-view.js';

/** A string equal for two views exactly when they differ in measurements only. */
export function materialViewKey(view: ClusterView): string {
  return JSON.stringify({
    ...view,
    generation: 0,
    refreshed_at: '',
    shards: view.shards.map((shard) => ({ ...shard, max_lag: [] })),
    members: view.members.map(materialMemberForm),
  });
}

function materialMemberForm(member: ViewNode) {
  return {
    ...member,
    status: { code: member.status.code },
    last_error: null,
    last_successful_refresh_at: null,
    shards: member.shards?.map((shard) => ({ ...shard, commit_offset: null, lag: null })) ?? null,
    shards_error: member.shards_error === null ? null : '',
  };
}

const materialMember = (member: ViewNode): string => JSON.stringify(materialMemberForm(member));

/** Fields other than measurements are the same object or value: no need to serialize. */
function sameMemberObjects(a: ViewNode, b: ViewNode): boolean {
  return (
    a.address === b.address &&
    a.node_id === b.node_id &&
    a.status.code === b.status.code &&
    a.first_seen_at === b.first_seen_at &&
    a.left_discovery_at === b.left_discovery_at &&
    (a.shards_error === null) === (b.shards_error === null) &&
    a.agent === b.agent &&
    a.datastore === b.datastore &&
    a.shards === b.shards &&
    JSON.stringify(a.discovered) === JSON.stringify(b.discovered)
  );
}

/**
 * `materialViewKey(a) === materialViewKey(b)`, without serializing what the two views share:
 * a refresh that carried nodes over (observation deltas) compares a large view in little time.
 */
export function sameMaterialView(a: ClusterView, b: ClusterView): boolean {
  const top = (view: ClusterView) => JSON.stringify({ ...view, generation: 0, refreshed_at: '', shards: [], members: [] });
  if (top(a) !== top(b) || a.members.length !== b.members.length || a.shards.length !== b.shards.length) return false;
  if (a.shards !== b.shards) {
    const summary = (shard: ShardSummary) => JSON.stringify({ ...shard, max_lag: [] });
    for (let i = 0; i < a.shards.length; i++) if (summary(a.shards[i]!) !== summary(b.shards[i]!)) return false;
  }
  for (let i = 0; i < a.members.length; i++) {
    const x = a.members[i]!;
    const y = b.members[i]!;
    if (!sameMemberObjects(x, y) && materialMember(x) !== materialMember(y)) return false;
  }
  return true;
}
