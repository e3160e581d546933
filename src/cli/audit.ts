/**
 * The audit events of operators' actions in the CLI (DISCOVERY_APPLIED, ...). They go out after
 * the change succeeded, never before: an event must not announce a change that then failed. When
 * Kafka does not take them, the change stands and the command fails (exit 1) saying so, with the
 * events on stderr as JSON lines (they hold no secret), so an operator can publish them by hand
 * (docs/reference/cli.md); running the command again changes nothing and so emits nothing.
 */
import { serviceConnectError } from '../adapters/connections/index.js';
import { within } from '../adapters/deadline.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import type { CommandContext } from './context.js';
import { CliError, exitCodes } from './errors.js';

/** How long the publish may take in all: the publisher's own timeouts are shorter, this bounds the rest. */
const publishBudgetMs = 20_000;

/**
 * Publishes `events`; `done` says what already happened (`discovery inventory applied`), for the
 * message when Kafka fails.
 */
export async function publishAudit(context: CommandContext, events: readonly FleetEvent[], done: string): Promise<void> {
  if (events.length === 0) return;
  const { services, config } = context;
  try {
    await within(services.publisher().publish(events), publishBudgetMs, 'Kafka taking the audit events');
  } catch (err) {
    for (const event of events) context.note(JSON.stringify(event));
    const cause = serviceConnectError('Kafka', config.kafka.brokers.join(','), err).message;
    const what = events.length === 1 ? `its audit event ${events[0]!.event} (id ${events[0]!.id})` : `its ${events.length} audit events (${events.map((e) => e.id).join(', ')})`;
    throw new CliError(
      exitCodes.failure,
      `${done}, but ${what} could not be published to the topic ${config.kafka.topic}: ${cause}\n` +
        `  the change stands; the unpublished events are above on stderr, one JSON line each`,
    );
  }
}
