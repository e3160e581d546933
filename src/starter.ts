/**
 * The operator CLI, `fleetview` (package.json bin; `npm run cli -- ...` in a clone). One command
 * per module under src/cli; this file only dispatches, maps errors to exit codes, and closes
 * connections. Configuration comes from src/config.ts (FLEETVIEW_* variables, FLEETVIEW_CONFIG).
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.js';
import { terminalSafe } from './domain/text.js';
import { clustersCommand, refreshCommand, viewCommand } from './cli/cluster-commands.js';
import { clusterCommand, settingsCommand } from './cli/control-commands.js';
import { codecServerCommand } from './cli/codec-server-command.js';
import type { CommandContext, CommandRunner } from './cli/context.js';
import { discoveryCommand } from './cli/discovery-commands.js';
import { CliError, exitCodes, type ExitCode } from './cli/errors.js';
import { eventsCommand } from './cli/events-command.js';
import { openServices } from './cli/services.js';
import { startCommand } from './cli/start-command.js';
import { uiCommand } from './cli/ui-command.js';

export const usage = `usage: fleetview <command> [options]

commands:
  start                          create/update the discovery schedule, the events topic, the indexes
  discovery apply -f FILE        validate and store discovery settings (YAML/JSON)
  discovery list                 the discoveries and their last runs
  discovery delete NAME          delete a discovery
  discovery run [NAME...]        run the due (or named) discoveries now
  discovery release NAME         let the retirements a discovery's guard holds go ahead
  discovery pause|resume NAME    pause (resume) every cluster a discovery lists, now and later
  clusters                       every known cluster: status, nodes, nodes down, last refresh
  view CLUSTER [--json]          a cluster's view (workflow query, else MongoDB)
  refresh CLUSTER [--wait]       refresh a cluster now (--wait: and print the report)
  cluster show|list              a cluster's view with its settings, pause and maintenance; the list
  cluster set|unset CLUSTER      the operator's settings of a cluster (--interval 60s, ...)
  cluster pause|resume CLUSTER   stop and restart polling a cluster (--for 2h --reason TEXT)
  cluster maintenance CLUSTER    mark a cluster's events for a while (--for 2h --reason TEXT; --end)
  settings apply                 send this configuration's per-cluster defaults to running clusters
  events [--cluster C] [--from-beginning] [--follow] [--json]
                                 read the event stream
  codec-server                   serve the Web UI's codec endpoint: stored payloads shown in the UI
  ui                             serve the fleet page: clusters, members, shards, events (browser)

fleetview <command> --help explains a command. Settings: FLEETVIEW_* variables
(docs/reference/configuration.md), e.g. FLEETVIEW_TEMPORAL_ADDRESS, FLEETVIEW_MONGODB_URI, FLEETVIEW_KAFKA_BROKERS.

exit codes:
  0  done
  1  failed at run time (a discovery run failed, no refresh before the timeout, ...)
  2  bad command line, bad settings file or bad configuration: nothing was changed
  3  not found: unknown cluster, discovery or topic
  4  a service (Temporal, Kafka, MongoDB) cannot be reached`;

const commands: Record<string, CommandRunner> = {
  start: startCommand,
  discovery: discoveryCommand,
  clusters: clustersCommand,
  view: viewCommand,
  refresh: refreshCommand,
  cluster: clusterCommand,
  settings: settingsCommand,
  events: eventsCommand,
  'codec-server': codecServerCommand,
  ui: uiCommand,
};

export interface CliIo {
  out: (text: string) => void;
  note: (text: string) => void;
}

// Everything printed may quote outside input (ids, paths, agents' answers): control characters
// are escaped so none of it can move the cursor, clear the screen or rewrite a line.
const processIo: CliIo = {
  out: (text) => process.stdout.write(`${terminalSafe(text)}\n`),
  note: (text) => process.stderr.write(`${terminalSafe(text)}\n`),
};

/** Runs one command line and returns its exit code; never throws. */
export async function runCli(argv: string[], io: CliIo = processIo, signal: AbortSignal = new AbortController().signal): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.note : io.out)(usage);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const command = commands[name];
  if (!command) {
    io.note(`fleetview: unknown command ${JSON.stringify(name)}\n\n${usage}`);
    return exitCodes.usage;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      io.note(`fleetview: ${err.message}`);
      return exitCodes.usage;
    }
    throw err;
  }
  const services = openServices(config);
  const context: CommandContext = { config, services, out: io.out, note: io.note, signal };
  try {
    await command(rest, context);
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CliError) {
      // Usage texts and messages that already name their (sub)command are printed as they are.
      io.note(/^(usage:|fleetview )/.test(err.message) ? err.message : `fleetview ${name}: ${err.message}`);
      return err.exitCode;
    }
    io.note(`fleetview ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return exitCodes.failure;
  } finally {
    await services.close().catch(() => undefined);
  }
}

/** The process entry: argv in, exit code out (also used by bin/fleetview.mjs). */
export async function main(): Promise<void> {
  const abort = new AbortController();
  // The first Ctrl-C ends a --follow cleanly; a second one ends the process at once.
  const stop = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await runCli(process.argv.slice(2), processIo, abort.signal);
  // Drivers may keep sockets and timers alive for a while after close: the command is done
  // once its output is flushed.
  process.stdout.write('', () => process.exit(code));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
