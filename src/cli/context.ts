import type { Config } from '../config.js';
import type { Services } from './services.js';

/** What every command gets: configuration, lazily opened connections, output, and Ctrl-C. */
export interface CommandContext {
  config: Config;
  services: Services;
  /** Command output (tables, JSON): stdout. */
  out: (text: string) => void;
  /** Progress, notes and warnings: stderr, so output stays parseable. */
  note: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export type CommandRunner = (argv: string[], context: CommandContext) => Promise<void>;
