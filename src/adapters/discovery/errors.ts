/**
 * A discovery source that cannot give a complete answer fails with this error, never with an
 * empty or partial list: callers keep the source's last known records (invariant 6).
 */
export class DiscoverySourceError extends Error {
  constructor(
    /** Name of the discovery. */
    readonly source: string,
    message: string,
    /** Whether trying again later may succeed (network, a file being rewritten) or needs an operator. */
    readonly retriable = true,
  ) {
    super(`discovery ${JSON.stringify(source)}: ${message}`);
    this.name = 'DiscoverySourceError';
  }
}
