import type { DiscoveryResult } from './records.js';

export const discoveryBackends = ['file', 'http', 'http_sd'] as const;
export type DiscoveryBackend = (typeof discoveryBackends)[number];

/**
 * A configured discovery. `discover()` resolves with every valid record plus the problems of
 * the skipped ones, or rejects with DiscoverySourceError when it cannot give a complete list.
 * Keep one instance per discovery across runs: the file source remembers last good contents.
 */
export interface DiscoverySource {
  readonly name: string;
  readonly backend: DiscoveryBackend;
  discover(): Promise<DiscoveryResult>;
  /** Releases pooled connections. */
  close(): void;
}
