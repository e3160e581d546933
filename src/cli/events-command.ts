import { isKafkaConnectError } from '../adapters/connections/index.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import { clusterIdProblem } from '../domain/ids.js';
import { readEvents, TopicNotFoundError } from '../operations/index.js';
import { countOption, parseCommand, secondsOption } from './args.js';
import type { CommandContext } from './context.js';
import { CliError, notFound, usageError } from './errors.js';
import { formatEvent } from './event-format.js';

export const eventsUsage = `usage: fleetview events [--cluster C] [--from-beginning | --last N] [--follow] [--timeout SECONDS] [--json]

Reads the events topic: the last N events already there (default 20), or every retained one
with --from-beginning, then with --follow every new event until Ctrl-C. One readable line per
event (time, cluster, event, node, what changed); --json prints each envelope as one JSON line.

  --cluster C        only the events of cluster C
  --from-beginning   every event the topic still holds
  --last N           the last N events already in the topic (default 20; 0: none)
  --follow           keep printing new events until Ctrl-C
  --timeout SECONDS  with --follow: stop following after this long (exit 0); without it:
                     how long reading the existing events may take (default 30, then exit 1)
  --json             JSON lines instead of text

examples: fleetview events --follow
          fleetview events --cluster rs0 --from-beginning --json`;

export async function eventsCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    {
      command: 'events',
      usage: eventsUsage,
      options: {
        cluster: { type: 'string' },
        'from-beginning': { type: 'boolean' },
        last: { type: 'string' },
        follow: { type: 'boolean' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      positionals: [0, 0],
    },
    context.out,
  );
  if (!parsed) return;
  const { values } = parsed;
  const last = countOption('events', 'last', values.last, 20);
  const clusterProblem = values.cluster === undefined ? null : clusterIdProblem(values.cluster);
  if (clusterProblem) throw usageError(`fleetview events: --cluster: ${clusterProblem}`);
  const follow = values.follow === true;
  const timeoutS = values.timeout === undefined ? undefined : secondsOption('events', 'timeout', values.timeout, 30);
  // --follow --timeout: the follow ends like a Ctrl-C once the time is up.
  const stop = new AbortController();
  const stopFollowing = follow && timeoutS !== undefined ? setTimeout(() => stop.abort(), timeoutS * 1000) : undefined;
  const signal = AbortSignal.any([context.signal, stop.signal]);
  const print = (event: FleetEvent) => context.out(values.json ? JSON.stringify(event) : formatEvent(event));
  try {
    await readEvents({
      kafka: context.services.kafka(),
      topic: context.config.kafka.topic,
      history: values['from-beginning'] ? 'all' : last,
      cluster: values.cluster,
      follow,
      signal,
      catchUpTimeoutMs: !follow && timeoutS !== undefined ? timeoutS * 1000 : undefined,
      onEvent: print,
      onCaughtUp: () => {
        if (follow) context.note(`following ${context.config.kafka.topic}${values.cluster ? ` for ${values.cluster}` : ''} (${timeoutS === undefined ? 'Ctrl-C to stop' : `for ${timeoutS} s, or until Ctrl-C`})`);
      },
      onSkipped: (reason) => context.note(`skipped a message that is not a fleetview event: ${reason}`),
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof TopicNotFoundError) throw notFound(err.message);
    if (isKafkaConnectError(err)) throw context.services.kafkaUnreachable(err);
    throw err;
  } finally {
    clearTimeout(stopFollowing);
  }
}
