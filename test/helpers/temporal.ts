/**
 * Temporal for tests: a client on the suite's configuration (through the clients every fleetview
 * process uses), ending workflows a test started, waiting on a cluster workflow's view, and reading
 * its history's local activity markers.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { openClients } from '../../src/adapters/clients.js';
import type { Config } from '../../src/config.js';
import { viewQuery, type ViewQueryResult } from '../../src/workflows/messages.js';

export interface TestClient {
  client: Client;
  close(): Promise<void>;
}

/** A Temporal client that reads large payloads (a big cluster's view) from the store, as the CLI does. */
export async function connectClient(config: Config): Promise<TestClient> {
  const clients = openClients(config);
  try {
    return { client: await clients.temporal(), close: () => clients.close() };
  } catch (err) {
    await clients.close();
    throw err;
  }
}

/** Ends a workflow a test started, so the shared dev server keeps no orphans polling nothing. */
export async function terminateQuietly(handle: WorkflowHandle): Promise<void> {
  try {
    await handle.terminate('test finished');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError) && !/already completed|not found/i.test(String(err))) throw err;
  }
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * The events of every run of a workflow id, oldest run first: a cluster's workflow continues as
 * new every few refreshes, so what a test counts in "its history" spans runs.
 */
export async function historyOfAllRuns(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  return client.withDeadline(Date.now() + 20_000, async () => {
    const runs: Array<{ runId: string; startMs: number }> = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      runs.push({ runId: execution.runId, startMs: execution.startTime.getTime() });
    }
    runs.sort((a, b) => a.startMs - b.startMs);
    // Visibility is written after the run: the newest one may not be listed yet.
    const current = (await client.workflow.getHandle(workflowId).describe()).runId;
    if (!runs.some((run) => run.runId === current)) runs.push({ runId: current, startMs: Number.MAX_SAFE_INTEGER });
    const events: HistoryEvent[] = [];
    for (const run of runs) events.push(...((await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? []));
    return events;
  });
}

/**
 * The input the current chain of a workflow id was started with: its first run's (a run that
 * continued as new was started by its predecessor with the carried state instead). JSON-encoded:
 * small inputs are not stored apart.
 */
export async function chainStartInput(client: Client, workflowId: string): Promise<Record<string, unknown>> {
  return client.withDeadline(Date.now() + 20_000, async () => {
    const described = await client.workflow.getHandle(workflowId).describe();
    const firstRunId = described.raw.workflowExecutionInfo?.firstRunId || described.runId;
    const history = await client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const encoding = payload?.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString('utf8') : null;
    if (!payload?.data || encoding !== 'json/plain') throw new Error(`${workflowId}: its start event has no JSON input (encoding ${encoding})`);
    return JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>;
  });
}

/** The activity type of a local activity's marker in a history, or null for any other event. */
export function localActivityType(event: HistoryEvent): string | null {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return null;
  return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type ?? null;
}

/** Polls the workflow's `view` query until `accept` holds (a worker must be running). */
export async function waitForView(
  handle: WorkflowHandle,
  accept: (q: ViewQueryResult) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ViewQueryResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Each query bounded: with no worker polling, a query waits (and the test would hang).
    const q = await handle.client
      .withDeadline(Math.min(deadline, Date.now() + 10_000) + 1_000, () => handle.query(viewQuery))
      .catch((err: unknown) => {
        if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms (the query failed: ${(err as Error).message})`);
        return null;
      });
    if (q && accept(q)) return q;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms (generation ${q?.view?.generation}, phase ${q?.phase})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
