/**
 * The CLI's exit codes, a contract with scripts (documented in `fleetview --help` and docs/reference/cli.md).
 */
export const exitCodes = {
  ok: 0,
  /** Something failed at run time: a discovery run failed, a refresh timed out, a write failed. */
  failure: 1,
  /** The command line or an input file is wrong: nothing was changed. */
  usage: 2,
  /** The cluster, discovery, schedule or topic named does not exist. */
  notFound: 3,
  /** Temporal, Kafka or MongoDB cannot be reached. */
  unavailable: 4,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** An error the CLI reports as one message (no stack trace) and exits with its code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(exitCodes.usage, message);
export const notFound = (message: string) => new CliError(exitCodes.notFound, message);
export const failure = (message: string) => new CliError(exitCodes.failure, message);
