/**
 * The Temporal Schedule that starts the discovery workflow every tick, created or updated
 * idempotently (by `fleetview start` and the demo), and removed with its running runs (by the
 * demo and the tests). Its runs get the id `<schedule id>-<scheduled time>`, so the Web UI lists
 * them under the schedule.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleOptionsAction, type WorkflowStartOptions } from '@temporalio/client';
import type { Config } from '../config.js';
import { discoveryPriority, discoveryWorkflowType } from '../workflows/discovery-messages.js';

/** A run that hangs (e.g. every retry of a dead MongoDB) ends here, so SKIP never blocks the schedule for long. */
const runTimeout = '10 minutes';

export function discoveryScheduleOptions(config: Config): ScheduleOptions {
  const { scheduleId, tickS, catchupWindowS } = config.discovery;
  // The SDK's ScheduleOptionsAction type (1.24) leaves out `priority`, which its encoder sends
  // (schedule-helpers.js) and the schedule's description returns.
  const action: ScheduleOptionsAction & Pick<WorkflowStartOptions, 'priority'> = {
    type: 'startWorkflow',
    workflowType: discoveryWorkflowType,
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args: [],
    workflowRunTimeout: runTimeout,
    priority: discoveryPriority,
  };
  return {
    scheduleId,
    spec: { intervals: [{ every: `${tickS}s` }] },
    action,
    policies: {
      // A tick that finds the previous run still going is dropped: runs never pile up.
      overlap: ScheduleOverlapPolicy.SKIP,
      // After a server outage only ticks that are at most this late still run.
      catchupWindow: `${catchupWindowS}s`,
      // A failed run (a broken discovery source) must not stop the others' discovery.
      pauseOnFailure: false,
    },
  };
}

/** Creates the schedule, or brings an existing one to the configured spec (its paused state is kept). */
export async function ensureDiscoverySchedule(client: Client, config: Config): Promise<'created' | 'updated'> {
  const options = discoveryScheduleOptions(config);
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: options.policies,
  }));
  return 'updated';
}

/**
 * Deletes the schedule, if there is one, and ends its runs still going: a run it started just
 * before would otherwise wait for a worker until its run timeout.
 */
export async function removeDiscoverySchedule(client: Client, scheduleId: string, reason: string): Promise<void> {
  await client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
  for await (const run of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow
      .getHandle(run.workflowId, run.runId)
      .terminate(reason)
      .catch(() => undefined);
  }
}
