/**
 * When a cluster refreshes: every interval at a stable per-cluster phase, so a fleet's clusters
 * spread over the interval instead of refreshing together. Pure: the refresh workflow and the
 * benchmarks that measure it against its slots share it.
 */
/** A stable integer in [0, modulus) from the cluster id (FNV-1a), to spread clusters over a range. */
export function clusterOffset(clusterId: string, modulus: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clusterId.length; i++) {
    hash ^= clusterId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % modulus;
}

/** A stable offset in [0, intervalMs) from the cluster id, so clusters spread over the interval. */
export function refreshPhaseMs(clusterId: string, intervalMs: number): number {
  return clusterOffset(clusterId, intervalMs);
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

/** The next slot of a cluster and the timer the workflow sets for it. */
export interface SlotPlan {
  /** When the slot is (epoch ms). */
  slot_at_ms: number;
  wait_ms: number;
  /** `wait_ms`, or less when a window of the cluster ends before the slot (its end is recorded then). */
  timer_ms: number;
}

export function planSlot(at: {
  now_ms: number;
  interval_ms: number;
  cluster_id: string;
  /** The last slot refreshed at: a worker clock ahead of the server's must not bring it round twice. */
  last_slot_at_ms: number | null;
  /** The slot waited for when a change of settings woke the run: a longer interval takes effect after it, a shorter one at once. */
  pending_slot_at_ms: number | null;
  /** Ms until a pause or maintenance window ends by itself; null: none does. */
  window_end_ms: number | null;
}): SlotPlan {
  const { now_ms: nowMs, interval_ms: intervalMs } = at;
  let waitMs = msUntilNextSlot(nowMs, intervalMs, refreshPhaseMs(at.cluster_id, intervalMs));
  if (at.last_slot_at_ms !== null && nowMs + waitMs <= at.last_slot_at_ms) waitMs += intervalMs;
  const pending = at.pending_slot_at_ms;
  if (pending !== null && pending > nowMs && pending < nowMs + waitMs) waitMs = pending - nowMs;
  return { slot_at_ms: nowMs + waitMs, wait_ms: waitMs, timer_ms: at.window_end_ms === null ? waitMs : Math.min(waitMs, at.window_end_ms) };
}
