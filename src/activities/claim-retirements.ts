import type { DiscoveryRecord } from '../domain/discovery-record.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';

export interface ClusterToRetire {
  cluster_id: string;
  last_record: DiscoveryRecord;
  missing_since: string;
  grace_s: number;
  /** The run that retired it and when: its CLUSTER_RETIRED event's id and time, whichever run publishes it. */
  retired_run: string;
  retired_at: string;
}

export function claimRetirementsActivity(deps: DiscoveryDependencies) {
  return async function claimRetirements(input: { at: string; run: string; enabled: string[] }): Promise<ClusterToRetire[]> {
    const pending = await deps.store.claimRetirements(new Date(input.at), input.run, input.enabled);
    return pending.map((doc) => ({
      cluster_id: doc.cluster_id,
      last_record: doc.record,
      missing_since: doc.missing_since ?? doc.retired_at!,
      grace_s: doc.grace_s,
      retired_run: doc.retired_run!,
      retired_at: doc.retired_at!,
    }));
  };
}
