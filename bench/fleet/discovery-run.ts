/**
 * When the discovery run that ran a newly applied discovery ended: the steady-state window
 * starts one interval after it, as operators look at a fleet once discovery has handed it over.
 *
 * The run is found in Temporal's visibility (the runs the discovery schedule started,
 * `TemporalScheduledById`) and told by its result, which names every discovery it ran: a new
 * discovery is due at once and claimed by one run only. Taking the first run that closed after
 * the apply instead would be wrong when a tick lands while the CLI is still running: that run
 * claims the discovery but started before the apply returned, and the next one, which finds
 * nothing due, would be taken for it. Needs nothing of the workflow's history layout.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { DiscoveryRunResult } from '../../src/workflows/discovery-messages.js';
import { delay } from './processes.js';

export interface DiscoveryRunEnd {
  workflowId: string;
  runId: string;
  /** The run's close time (Temporal's clock, epoch ms). */
  closeMs: number;
}

export interface DiscoveryRunSearch {
  run: DiscoveryRunEnd | null;
  /** The last error of a visibility or result call, for the note when no run was found. */
  lastError: string | null;
}

/** Each visibility pass and each result fetch gets this long: a busy server must not hold the search past its bound. */
const callBoundMs = 15_000;
const pollMs = 1000;

/**
 * Polls until a completed run of the schedule, closed at or after `sinceMs`, lists `discovery`
 * in its result; gives up at `deadlineMs` or as soon as `stillWorthIt` says no (the worker died).
 */
export async function findDiscoveryRunEnd(
  client: Client,
  scheduleId: string,
  discovery: string,
  sinceMs: number,
  deadlineMs: number,
  stillWorthIt: () => boolean,
): Promise<DiscoveryRunSearch> {
  // Runs whose result did not name the discovery: asked once each.
  const ruledOut = new Set<string>();
  let lastError: string | null = null;
  while (Date.now() < deadlineMs && stillWorthIt()) {
    try {
      const run = await client.withDeadline(Math.min(deadlineMs, Date.now() + callBoundMs), () => firstRunListing(client, scheduleId, discovery, sinceMs, ruledOut));
      if (run) return { run, lastError };
    } catch (err) {
      lastError = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
    await delay(Math.min(pollMs, Math.max(0, deadlineMs - Date.now())));
  }
  return { run: null, lastError };
}

async function firstRunListing(client: Client, scheduleId: string, discovery: string, sinceMs: number, ruledOut: Set<string>): Promise<DiscoveryRunEnd | null> {
  const candidates: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    // A run that closed before the apply began cannot have claimed the discovery. A failed run
    // has no result to read: if it ran the discovery, onboarding fails and says so anyway.
    if (info.status.name === 'COMPLETED' && info.closeTime && info.closeTime.getTime() >= sinceMs && !ruledOut.has(info.runId)) candidates.push(info);
  }
  // SKIP overlap: runs of the schedule never overlap, so start order is close order.
  candidates.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const info of candidates) {
    const result = (await client.workflow.getHandle(info.workflowId, info.runId).result()) as DiscoveryRunResult;
    if (result.discoveries.some((outcome) => outcome.discovery === discovery)) {
      return { workflowId: info.workflowId, runId: info.runId, closeMs: info.closeTime!.getTime() };
    }
    ruledOut.add(info.runId);
  }
  return null;
}
