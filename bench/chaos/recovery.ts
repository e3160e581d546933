/**
 * Recovery after a fault: the time from the fault's end until every cluster has completed a
 * refresh that started after it, read from each cluster workflow's `view` query
 * (`last_report.started_at`, the workflow's own time of the refresh). The query goes through
 * Temporal and a worker, both up once a fault has ended, and does not depend on Kafka, the
 * store or the events; a cluster whose query fails is simply asked again.
 */
import type { Client } from '@temporalio/client';
import { clusterWorkflowId } from '../../src/domain/ids.js';
import { viewQuery, type ViewQueryResult } from '../../src/workflows/messages.js';
import { delay } from '../fleet/processes.js';

export interface Recovery {
  /** Seconds from the fault's end until the last cluster completed a refresh started after it; null if some never did in time. */
  all_refreshed_s: number | null;
  /** Median over clusters of the same. */
  p50_s: number | null;
  /** Clusters that did not refresh within the bound. */
  not_refreshed: string[];
  waited_s: number;
}

async function query(client: Client, clusterId: string): Promise<ViewQueryResult | null> {
  try {
    return await client.withDeadline(Date.now() + 5000, () => client.workflow.getHandle(clusterWorkflowId(clusterId)).query(viewQuery));
  } catch {
    return null;
  }
}

/** The view of every cluster (null where the query failed), `concurrency` queries at a time. */
export async function queryViews(client: Client, clusterIds: readonly string[], concurrency = 16): Promise<Map<string, ViewQueryResult | null>> {
  const views = new Map<string, ViewQueryResult | null>();
  for (let start = 0; start < clusterIds.length; start += concurrency) {
    const batch = clusterIds.slice(start, start + concurrency);
    const answers = await Promise.all(batch.map((id) => query(client, id)));
    batch.forEach((id, i) => views.set(id, answers[i] ?? null));
  }
  return views;
}

export async function measureRecovery(client: Client, clusterIds: readonly string[], sinceMs: number, timeoutMs: number): Promise<Recovery> {
  const refreshedAt = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (refreshedAt.size < clusterIds.length && Date.now() < deadline) {
    const waiting = clusterIds.filter((id) => !refreshedAt.has(id));
    const views = await queryViews(client, waiting);
    const now = Date.now();
    for (const [id, view] of views) {
      const started = view?.last_report ? Date.parse(view.last_report.started_at) : NaN;
      // The refresh started after the fault ended; it is complete, so it is done by now.
      if (started >= sinceMs) refreshedAt.set(id, Math.min(now, started + (view!.last_report!.duration_ms ?? 0)));
    }
    if (refreshedAt.size < clusterIds.length) await delay(1000);
  }
  const times = [...refreshedAt.values()].map((ms) => (ms - sinceMs) / 1000).sort((a, b) => a - b);
  const round = (s: number): number => Math.round(s * 10) / 10;
  return {
    all_refreshed_s: refreshedAt.size === clusterIds.length ? round(Math.max(0, ...times)) : null,
    p50_s: times.length > 0 ? round(times[Math.floor((times.length - 1) / 2)]!) : null,
    not_refreshed: clusterIds.filter((id) => !refreshedAt.has(id)),
    waited_s: round((Date.now() - (deadline - timeoutMs)) / 1000),
  };
}
