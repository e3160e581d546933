import type { ClusterStore, SaveResult } from '../adapters/mongo-store.js';
import type { ClusterView } from '../domain/cluster-view.js';

/** Persists the view and its entities; generation-guarded, so retries and stale writes are harmless. */
export function saveViewActivity(store: ClusterStore) {
  return async function saveView(view: ClusterView): Promise<SaveResult> {
    return store.saveView(view);
  };
}

/** The cluster's last stored view, or null for a cluster never refreshed. */
export function loadStoredViewActivity(store: ClusterStore) {
  return async function loadStoredView(clusterId: string): Promise<ClusterView | null> {
    return store.loadView(clusterId);
  };
}
