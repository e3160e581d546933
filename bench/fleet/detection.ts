/**
 * Detection latency: faults injected on chosen nodes through the sim's admin API, spread evenly
 * over one refresh interval (so they land at every phase of the refresh cycle), then a bounded
 * wait for each to be reported. Latency = time of the report minus the time the sim recorded
 * the change. Every faulted node is restored afterwards, detected or not.
 */
import { delay } from './processes.js';
import type { SimNode, SimProcess } from './sim-process.js';
import { percentile, round } from './stats.js';

export interface Fault {
  node: SimNode;
  patch: Record<string, string>;
  restore: Record<string, string>;
  /** When the watcher reports this fault (epoch ms), once it has. */
  reportedAt: () => number | undefined;
}

export interface DetectionResult {
  faults: number;
  detected: number;
  missed: number;
  p50_s: number | null;
  p99_s: number | null;
  max_s: number | null;
}

export async function measureDetection(sim: SimProcess, faults: readonly Fault[], intervalS: number, waitAfterLastS: number): Promise<DetectionResult> {
  const injectedAt = new Map<Fault, number>();
  try {
    const spacingMs = (intervalS * 1000) / Math.max(1, faults.length);
    for (const fault of faults) {
      injectedAt.set(fault, await sim.setState(fault.node, fault.patch));
      await delay(spacingMs);
    }
    const deadline = Date.now() + waitAfterLastS * 1000;
    while (Date.now() < deadline && faults.some((fault) => fault.reportedAt() === undefined)) await delay(200);
  } finally {
    for (const fault of faults) await sim.setState(fault.node, fault.restore).catch(() => undefined);
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
