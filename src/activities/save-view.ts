import type { ClusterStore } from '../adapters/mongo-store.js';
import type { ClusterView } from '../domain/cluster-view.js';

/** The cluster's last stored view, or null for a cluster never refreshed. */
export function loadStoredViewActivity(store: ClusterStore) {
  return async function loadStoredView(clusterId: string): Promise<ClusterView | null> {
    return store.loadView(clusterId);
  };
}
