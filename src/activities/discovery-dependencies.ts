import type { Client } from '@temporalio/client';
import type { DiscoverySourceCache } from '../adapters/discovery/index.js';
import type { DiscoveryStore } from '../adapters/discovery-store/index.js';
import type { DiscoveryMetrics } from './discovery-metrics.js';

/** What the discovery activities share, built once per worker. */
export interface DiscoveryDependencies {
  store: DiscoveryStore;
  /** One source per discovery, kept across runs (the file source remembers last good contents). */
  sources: DiscoverySourceCache;
  /** Starts and signals the cluster refresh workflows. */
  temporal: Client;
  /** Task queue the cluster refresh workflows run on. */
  taskQueue: string;
  /** Refresh interval given to the cluster workflows discovery starts, in seconds. */
  refreshIntervalS: number;
  /** The gauge of held retirements. */
  metrics: DiscoveryMetrics;
}
