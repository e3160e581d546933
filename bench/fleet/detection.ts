/**
 * Detection latency: faults injected through the sim's admin API (a node's state, a shard's
 * leader), spread evenly over one refresh interval (so they land at every phase of the refresh
 * cycle), then a bounded wait for each to be reported. Latency = time of the report minus the
 * time the sim recorded the change. Every fault is undone afterwards, detected or not.
 */
import { delay } from './processes.js';
import type { SimNode, SimProcess } from './sim-process.js';
import { percentile, round } from './stats.js';

export interface Fault {
  /** Applies the fault; resolves with the change's time as the sim recorded it (epoch ms). */
  inject: () => Promise<number>;
  /** Puts things back (called for every fault, injected or not; errors are ignored). */
  undo: () => Promise<unknown>;
  /** When the watcher reports this fault (epoch ms), once it has. */
  reportedAt: () => number | undefined;
}

/** A node state fault: `patch` applied, `restore` afterwards. */
export function stateFault(sim: SimProcess, node: SimNode, patch: Record<string, string>, restore: Record<string, string>, reportedAt: () => number | undefined): Fault {
  return { inject: () => sim.setState(node, patch), undo: () => sim.setState(node, restore), reportedAt };
}

export interface DetectionResult {
  faults: number;
  detected: number;
  missed: number;
  p50_s: number | null;
  p99_s: number | null;
  max_s: number | null;
}

export async function measureDetection(faults: readonly Fault[], intervalS: number, waitAfterLastS: number): Promise<DetectionResult> {
  const injectedAt = new Map<Fault, number>();
  try {
    const spacingMs = (intervalS * 1000) / Math.max(1, faults.length);
    for (const fault of faults) {
      injectedAt.set(fault, await fault.inject());
      await delay(spacingMs);
    }
    const deadline = Date.now() + waitAfterLastS * 1000;
    while (Date.now() < deadline && faults.some((fault) => fault.reportedAt() === undefined)) await delay(200);
  } finally {
    for (const fault of faults) await fault.undo().catch(() => undefined);
  }
  const latenciesS: number[] = [];
  for (const fault of faults) {
    const reported = fault.reportedAt();
    const injected = injectedAt.get(fault);
    if (reported !== undefined && injected !== undefined) latenciesS.push(Math.max(0, reported - injected) / 1000);
  }
  return {
    faults: faults.length,
    detected: latenciesS.length,
    missed: faults.length - latenciesS.length,
    p50_s: round(percentile(latenciesS, 50)),
    p99_s: round(percentile(latenciesS, 99)),
    max_s: round(latenciesS.length === 0 ? null : Math.max(...latenciesS)),
  };
}
