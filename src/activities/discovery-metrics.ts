import type { MetricMeter } from '@temporalio/common';

/** The discovery side's worker metrics. */
export interface DiscoveryMetrics {
  /** One discovery's held retirements, after one of its runs. */
  retirementsHeld(discovery: string, held: number): void;
  /** Every enabled discovery's held retirements (each tick): those reported before and not listed now (deleted, disabled) drop to 0. */
  allRetirementsHeld(held: Readonly<Record<string, number>>): void;
}

/**
 * `fleetview_discovery_retirements_held{discovery}`: on the worker's own meter, not an
 * activity's, so the two activities that set it write one series per discovery (an activity's
 * meter adds its activity type as a label).
 */
export function createDiscoveryMetrics(meter: MetricMeter): DiscoveryMetrics {
  const gauge = meter.createGauge('fleetview_discovery_retirements_held', 'int', '', 'clusters whose retirement the retirement guard holds, by discovery');
  const reported = new Set<string>();
  const set = (discovery: string, held: number) => {
    gauge.set(held, { discovery });
    reported.add(discovery);
  };
  return {
    retirementsHeld: set,
    allRetirementsHeld(held) {
      for (const discovery of reported) if (!(discovery in held)) set(discovery, 0);
      for (const [discovery, count] of Object.entries(held)) set(discovery, count);
    },
  };
}
