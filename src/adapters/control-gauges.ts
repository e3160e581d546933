/**
 * The worker's fleet-wide gauges of operator controls: `fleetview_clusters_paused` and
 * `fleetview_clusters_in_maintenance`, the clusters whose pause or maintenance window holds now,
 * counted from the store's `cluster_controls` on a timer. Every worker exports the same fleet-wide
 * count (dashboards take `max`): no per-cluster series, one bounded read per interval.
 */
import type { MetricMeter } from '@temporalio/common';
import { windowActive, type ClusterControls } from '../domain/cluster-controls.js';
import type { ControlStore } from './control-store.js';
import { within } from './deadline.js';
import type { Logger } from './logger.js';

export interface ControlGaugesOptions {
  meter: MetricMeter;
  store: Pick<ControlStore, 'listWindows'>;
  logger: Logger;
  /** Between two counts (default 30 s). */
  intervalMs?: number;
  /** Bound of one read (the store's FLEETVIEW_MONGODB_TIMEOUT_MS). */
  timeoutMs: number;
  now?: () => number;
}

export interface ControlGauges {
  /** Counts now (what the timer does); resolves when the count is set or the read failed. */
  update(): Promise<void>;
  /** Stops the timer and waits for a count under way. */
  stop(): Promise<void>;
}

export const controlGaugesIntervalMs = 30_000;

/** Active pauses and maintenance windows among the stored controls. */
export function countActiveWindows(controls: ReadonlyArray<Pick<ClusterControls, 'pause' | 'maintenance'>>, nowMs: number): { paused: number; maintenance: number } {
  let paused = 0;
  let maintenance = 0;
  for (const entry of controls) {
    // A window whose end has passed counts no more, even before its workflow clears it.
    if (windowActive(entry.pause, nowMs)) paused++;
    if (windowActive(entry.maintenance, nowMs)) maintenance++;
  }
  return { paused, maintenance };
}

export function startControlGauges(options: ControlGaugesOptions): ControlGauges {
  const { meter, store, logger, timeoutMs } = options;
  const now = options.now ?? Date.now;
  const paused = meter.createGauge('fleetview_clusters_paused', 'int', '', 'clusters whose pause holds now (fleet-wide, from the store)');
  const inMaintenance = meter.createGauge('fleetview_clusters_in_maintenance', 'int', '', 'clusters in a maintenance window now (fleet-wide, from the store)');
  let failing = false;
  let running: Promise<void> | null = null;

  const count = async () => {
    try {
      const counts = countActiveWindows(await within(store.listWindows(), timeoutMs, 'counting paused clusters in the store'), now());
      paused.set(counts.paused);
      inMaintenance.set(counts.maintenance);
      if (failing) logger.info('counting paused clusters works again');
      failing = false;
    } catch (err) {
      // The gauges keep their last counts; one line per outage, not one per interval.
      if (!failing) logger.warn('counting paused clusters and maintenance windows failed; the gauges keep their last values', { error: err });
      failing = true;
    }
  };
  const update = () => {
    running ??= count().finally(() => {
      running = null;
    });
    return running;
  };

  void update();
  const timer = setInterval(() => void update(), options.intervalMs ?? controlGaugesIntervalMs);
  timer.unref();
  return {
    update,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
