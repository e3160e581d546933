/**
 * Workflow histories as the benchmarks read them: events as the client decodes them (protobuf
 * messages, int64 fields as Long), their times, which kind each is (the one `*EventAttributes`
 * field set), and every run of a workflow id in start order (a continue-as-new chain).
 */
import type { Client } from '@temporalio/client';

export interface HistoryEventShape {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  [field: string]: unknown;
}

export interface RunHistory {
  runId: string;
  /** The run's start (Temporal's clock, epoch ms). */
  startMs: number;
  events: HistoryEventShape[];
}

/** An int64 as the client decodes it (Long, number or string) as a number. */
export function longToNumber(value: unknown): number {
  if (value !== null && typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value ?? 0);
}

export function eventTimeMs(event: HistoryEventShape): number {
  return longToNumber(event.eventTime?.seconds) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
}

/** The name of the event's attributes field (`timerFiredEventAttributes`, ...), null when none is set. */
export function eventKind(event: HistoryEventShape): string | null {
  for (const key of Object.keys(event)) {
    if (key.endsWith('EventAttributes') && event[key] !== null && event[key] !== undefined) return key;
  }
  return null;
}

/** The event's attributes of `kind`, or undefined when the event is of another kind. */
export function attributes<T = Record<string, unknown>>(event: HistoryEventShape, kind: string): T | undefined {
  const value = event[kind];
  return value === null || value === undefined ? undefined : (value as T);
}

/**
 * Every run of `workflowId` (the first run and the continue-as-new chain after it), oldest first,
 * each with its whole history. Runs come from visibility, which may not list the newest yet: the
 * current run (describe) is added when missing. Each call is bounded by `boundMs`.
 */
export async function fetchRunChain(client: Client, workflowId: string, boundMs = 60_000): Promise<RunHistory[]> {
  const deadline = (): number => Date.now() + boundMs;
  const runs = new Map<string, number>();
  await client.withDeadline(deadline(), async () => {
    for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, "\\'")}'` })) runs.set(info.runId, info.startTime.getTime());
  });
  const current = await client.withDeadline(deadline(), () => client.workflow.getHandle(workflowId).describe());
  runs.set(current.runId, current.startTime.getTime());
  const chain: RunHistory[] = [];
  for (const [runId, startMs] of [...runs.entries()].sort(([, a], [, b]) => a - b)) {
    const history = await client.withDeadline(deadline(), () => client.workflow.getHandle(workflowId, runId).fetchHistory());
    chain.push({ runId, startMs, events: (history.events ?? []) as HistoryEventShape[] });
  }
  return chain;
}
