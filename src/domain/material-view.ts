/**
 * What of a cluster view is state, as opposed to measurement. Every refresh moves the generation,
 * the refresh time, the last-success times, offsets and lag, and may reword a DOWN reason; none of
 * that is a change of the cluster. The store is written when the material view changes (and at a
 * bounded rate otherwise), so a refresh in which nothing happened writes nothing.
 */
import type { ClusterView } from './cluster-view.js';

/** A string equal for two views exactly when they differ in measurements only. */
export function materialViewKey(view: ClusterView): string {
  return JSON.stringify({
    ...view,
    generation: 0,
    refreshed_at: '',
    shards: view.shards.map((shard) => ({ ...shard, max_lag: [] })),
    members: view.members.map((member) => ({
      ...member,
      status: { code: member.status.code },
      last_error: null,
      last_successful_refresh_at: null,
      shards: member.shards?.map((shard) => ({ ...shard, commit_offset: null, lag: null })) ?? null,
      shards_error: member.shards_error === null ? null : '',
    })),
  });
}
