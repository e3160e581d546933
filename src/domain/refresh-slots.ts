/**
 * When a cluster refreshes: every interval at a stable per-cluster phase, so a fleet's clusters
 * spread over the interval instead of refreshing together. Pure: the refresh workflow and the
 * benchmarks that measure it against its slots share it.
 */
/** A stable offset in [0, intervalMs) from the cluster id, so clusters spread over the interval. */
export function refreshPhaseMs(clusterId: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clusterId.length; i++) {
    hash ^= clusterId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % intervalMs;
}

/** Milliseconds from `nowMs` to the next refresh slot of the cluster (never 0). */
export function msUntilNextSlot(nowMs: number, intervalMs: number, phaseMs: number): number {
  const into = (((nowMs - phaseMs) % intervalMs) + intervalMs) % intervalMs;
  return intervalMs - into;
}

/**
 * How far a clock read in the worker moves workflow time on, for timing the next slot: never
 * back (a worker clock behind the server's), and at most a quarter interval (one far ahead must
 * not skip slots).
 */
export function slotClockAdvanceMs(workflowNowMs: number, clockMs: number, intervalMs: number): number {
  return Math.min(Math.max(0, clockMs - workflowNowMs), Math.floor(intervalMs / 4));
}
