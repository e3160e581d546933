/**
 * What one cluster workflow's history costs per refresh, and the largest payload in it.
 *
 * A scheduled refresh is one cycle of the cluster's timer: from a TimerFired up to (not
 * including) the next TimerFired of a slot timer, across a continue-as-new (the runs are read as one chain, so
 * the cycle that continues as new carries the old run's end and the new run's start). A cycle is
 * quiet when the topic holds no refresh event of the cluster whose envelope timestamp (the
 * refresh's workflow time) falls inside it. Per cycle: history events, the bytes of the payloads
 * in them (every Payload: inputs, results, markers, memo, search attributes, headers,
 * continue-as-new input) and the serialized size of the events themselves.
 *
 * Start lag, two ways. Against the slot (`slot_lag_ms`, the goal's measure): the refresh starts
 * in the first workflow task after its TimerFired (its WorkflowTaskStarted), and its slot is the
 * one the cluster's phase and interval put next to that TimerFired (the workflow sets a timer
 * early by how late its timers have been firing, at most a quarter interval, so the slot is the
 * one in (fired − ¾ interval, fired + ¼ interval]). Against the TimerFired (`timer_lag_ms`): task
 * queue and worker delays alone; a timer that was set late (computed from a workflow clock that
 * trailed the real one) is late by more than this shows.
 *
 * A slot timer is one of at least `slotTimerMinMs` (100 ms): a refresh with events also sleeps
 * 1 ms (its observation made durable before publishing), and that timer does not start a cycle.
 * Needs only "a timer per scheduled refresh", nothing else of the refresh's own event layout.
 */
import { attributes, eventKind, eventTimeMs, longToNumber, type HistoryEventShape, type RunHistory } from '../fleet/history.js';
import { percentile, round } from '../fleet/stats.js';

/** Sizes of a history event and of one payload, in bytes. */
export interface Sizer {
  event(event: HistoryEventShape): number;
  payload(payload: PayloadShape): number;
}

export interface PayloadShape {
  metadata?: Record<string, Uint8Array | null | undefined> | null;
  data?: Uint8Array | null;
}

/**
 * Protobuf sizes: the client decodes history into protobuf message objects whose class encodes
 * them again (`constructor.encode`), so an event's size is exactly what the server stores and
 * sends; anything else (a plain object) is estimated from its bytes and its JSON.
 */
export const protoSizer: Sizer = {
  event: (event) => encodedSize(event) ?? estimatedSize(event),
  payload: (payload) => encodedSize(payload) ?? rawPayloadSize(payload),
};

function encodedSize(message: object): number | null {
  const encode = (message.constructor as { encode?: (m: object) => { finish(): Uint8Array } } | undefined)?.encode;
  if (typeof encode !== 'function') return null;
  try {
    return encode(message).finish().byteLength;
  } catch {
    return null;
  }
}

/** data plus metadata keys and values: the payload's bytes without protobuf framing. */
export function rawPayloadSize(payload: PayloadShape): number {
  let bytes = payload.data?.byteLength ?? 0;
  for (const [key, value] of Object.entries(payload.metadata ?? {})) bytes += Buffer.byteLength(key) + (value?.byteLength ?? 0);
  return bytes;
}

function estimatedSize(value: unknown): number {
  let bytes = 0;
  const walk = (node: unknown): void => {
    if (node === null || node === undefined) return;
    if (node instanceof Uint8Array) bytes += node.byteLength;
    else if (typeof node === 'string') bytes += Buffer.byteLength(node);
    else if (typeof node === 'number' || typeof node === 'boolean' || typeof node === 'bigint') bytes += 8;
    else if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        bytes += key.length;
        walk(child);
      }
    }
  };
  walk(value);
  return bytes;
}

function isPayload(value: unknown): value is PayloadShape {
  return value !== null && typeof value === 'object' && (value as PayloadShape).data instanceof Uint8Array && !Array.isArray(value);
}

/** Calls `visit` with every Payload inside `value` and its path (`markerRecordedEventAttributes.details.data.payloads.0`). */
export function forEachPayload(value: unknown, visit: (payload: PayloadShape, path: string) => void, path = ''): void {
  if (value === null || value === undefined || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (isPayload(value)) {
    visit(value, path);
    return;
  }
  const entries = Array.isArray(value) ? value.map((child, i) => [String(i), child] as const) : Object.entries(value);
  for (const [key, child] of entries) forEachPayload(child, visit, path === '' ? key : `${path}.${key}`);
}

export interface RefreshCycle {
  /** Time of the TimerFired that opened the cycle, and of the next one (or of the last event read). */
  startMs: number;
  endMs: number;
  /** Whether the next TimerFired was read (a whole cycle), or the cycle runs to the end of what was read. */
  closed: boolean;
  events: number;
  payload_bytes: number;
  serialized_bytes: number;
  /** The cycle continued as new. */
  continued_as_new: boolean;
  /** How late the refresh of this cycle started after its TimerFired (ms); null when its workflow task is not in the history. */
  timer_lag_ms: number | null;
  /** How late it started against its slot (ms, negative: early); null without the slot grid or the workflow task. */
  slot_lag_ms: number | null;
  quiet: boolean;
}

interface Located {
  run: number;
  event: HistoryEventShape;
  kind: string | null;
}

export const slotTimerMinMs = 100;

/** Timer durations by the TimerStarted event id, per run. */
function timerDurations(run: RunHistory): Map<number, number> {
  const durations = new Map<number, number>();
  for (const event of run.events) {
    const started = attributes<{ startToFireTimeout?: { seconds?: unknown; nanos?: number | null } | null }>(event, 'timerStartedEventAttributes');
    const timeout = started?.startToFireTimeout;
    if (timeout) durations.set(longToNumber(event.eventId), longToNumber(timeout.seconds) * 1000 + Math.floor((timeout.nanos ?? 0) / 1e6));
  }
  return durations;
}

/** Where a cluster's slots are: every `intervalMs` from `phaseMs` (epoch ms). */
export interface SlotGrid {
  phaseMs: number;
  intervalMs: number;
}

/** The slot a timer that fired at `firedMs` stands for: the one in (fired − ¾ interval, fired + ¼ interval]. */
export function slotOf(firedMs: number, grid: SlotGrid): number {
  const after = firedMs - (grid.intervalMs * 3) / 4;
  const into = (((after - grid.phaseMs) % grid.intervalMs) + grid.intervalMs) % grid.intervalMs;
  return after + grid.intervalMs - into;
}

/** The refresh cycles of a run chain. `refreshTimesMs`: envelope timestamps of the cluster's refresh events on the topic. */
export function refreshCycles(runs: readonly RunHistory[], refreshTimesMs: readonly number[], sizer: Sizer = protoSizer, grid?: SlotGrid): RefreshCycle[] {
  const all: Located[] = runs.flatMap((run, index) => run.events.map((event) => ({ run: index, event, kind: eventKind(event) })));
  const durations = runs.map(timerDurations);
  const isSlotTimer = (located: Located): boolean => {
    const startedId = attributes<{ startedEventId?: unknown }>(located.event, 'timerFiredEventAttributes')?.startedEventId;
    const duration = durations[located.run]!.get(longToNumber(startedId));
    // A timer whose start is not in the history is taken for a slot timer.
    return duration === undefined || duration >= slotTimerMinMs;
  };
  const fired = all.flatMap((located, index) => (located.kind === 'timerFiredEventAttributes' && isSlotTimer(located) ? [index] : []));
  const times = [...refreshTimesMs].sort((a, b) => a - b);
  const cycles: RefreshCycle[] = [];
  for (let i = 0; i < fired.length; i++) {
    const from = fired[i]!;
    const closed = i + 1 < fired.length;
    const to = closed ? fired[i + 1]! : all.length;
    const span = all.slice(from, to);
    const startMs = eventTimeMs(all[from]!.event);
    const endMs = closed ? eventTimeMs(all[to]!.event) : eventTimeMs(all[all.length - 1]!.event) + 1;
    let payloadBytes = 0;
    for (const located of span) forEachPayload(located.event, (payload) => (payloadBytes += sizer.payload(payload)));
    cycles.push({
      startMs,
      endMs,
      closed,
      events: span.length,
      payload_bytes: payloadBytes,
      serialized_bytes: span.reduce((total, located) => total + sizer.event(located.event), 0),
      continued_as_new: span.some((located) => located.kind === 'workflowExecutionContinuedAsNewEventAttributes'),
      timer_lag_ms: timerLag(runs[all[from]!.run]!.events, all[from]!.event),
      slot_lag_ms: grid ? slotLag(runs[all[from]!.run]!.events, all[from]!.event, grid) : null,
      quiet: !hasTimeIn(times, startMs, endMs),
    });
  }
  return cycles;
}

/** Whether a sorted list holds a time in [from, to). */
function hasTimeIn(sorted: readonly number[], from: number, to: number): boolean {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < from) low = middle + 1;
    else high = middle;
  }
  return low < sorted.length && sorted[low]! < to;
}

/** The lag of the refresh that `fired` (a TimerFired of `events`, one run's history) starts: the next WorkflowTaskStarted minus the TimerFired. */
export function timerLag(events: readonly HistoryEventShape[], fired: HistoryEventShape): number | null {
  const firedId = longToNumber(fired.eventId);
  const next = events.find((event) => longToNumber(event.eventId) > firedId && eventKind(event) === 'workflowTaskStartedEventAttributes');
  return next ? Math.max(0, eventTimeMs(next) - eventTimeMs(fired)) : null;
}

/** How late the refresh that `fired` starts against its slot: the next WorkflowTaskStarted minus the slot (negative: early). */
export function slotLag(events: readonly HistoryEventShape[], fired: HistoryEventShape, grid: SlotGrid): number | null {
  const firedId = longToNumber(fired.eventId);
  const next = events.find((event) => longToNumber(event.eventId) > firedId && eventKind(event) === 'workflowTaskStartedEventAttributes');
  return next ? eventTimeMs(next) - slotOf(eventTimeMs(fired), grid) : null;
}

/** p50, p99 and max of a list of lags (ms). */
export function lagStats(lags: number[]): LagStats {
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.length === 0 ? null : Math.max(...lags), refreshes: lags.length };
}

export interface LagStats {
  p50: number | null;
  p99: number | null;
  max: number | null;
  refreshes: number;
}

export interface QuietRefreshCost {
  method: string;
  /** Whole cycles that started inside the window. */
  refreshes: number;
  quiet_refreshes: number;
  events_per_quiet_refresh: { mean: number | null; max: number | null };
  payload_bytes_per_quiet_refresh: { mean: number | null; max: number | null };
  serialized_bytes_per_quiet_refresh: { mean: number | null; max: number | null };
  continued_as_new_in_window: number;
  timer_lag_ms: LagStats;
  /** Against the slot; null when the cycles were read without the slot grid. */
  slot_lag_ms: LagStats | null;
}

export const quietRefreshMethod =
  'timer cycles (TimerFired to the next TimerFired, across continue-as-new) that started inside the window; quiet = no refresh event of the cluster on the topic with its envelope timestamp inside the cycle; payload bytes = every Payload in the cycle\'s events, protobuf-encoded; serialized = the events protobuf-encoded';

/** The whole cycles that started in [fromMs, toMs). */
export function cyclesIn(cycles: readonly RefreshCycle[], fromMs: number, toMs: number): RefreshCycle[] {
  return cycles.filter((cycle) => cycle.closed && cycle.startMs >= fromMs && cycle.startMs < toMs);
}

/** Sums up the whole cycles that started in [fromMs, toMs). */
export function quietRefreshCost(cycles: readonly RefreshCycle[], fromMs: number, toMs: number): QuietRefreshCost {
  const inWindow = cyclesIn(cycles, fromMs, toMs);
  const quiet = inWindow.filter((cycle) => cycle.quiet);
  const stats = (values: number[]): { mean: number | null; max: number | null } => ({
    mean: values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length, 1),
    max: values.length === 0 ? null : Math.max(...values),
  });
  const lags = inWindow.map((cycle) => cycle.timer_lag_ms).filter((lag): lag is number => lag !== null);
  const slotLags = inWindow.map((cycle) => cycle.slot_lag_ms).filter((lag): lag is number => lag !== null);
  return {
    method: quietRefreshMethod,
    refreshes: inWindow.length,
    quiet_refreshes: quiet.length,
    events_per_quiet_refresh: stats(quiet.map((cycle) => cycle.events)),
    payload_bytes_per_quiet_refresh: stats(quiet.map((cycle) => cycle.payload_bytes)),
    serialized_bytes_per_quiet_refresh: stats(quiet.map((cycle) => cycle.serialized_bytes)),
    continued_as_new_in_window: inWindow.filter((cycle) => cycle.continued_as_new).length,
    timer_lag_ms: lagStats(lags),
    slot_lag_ms: inWindow.some((cycle) => cycle.slot_lag_ms !== null) ? lagStats(slotLags) : null,
  };
}

export interface LargestPayload {
  bytes: number;
  /** Which run of the chain (0 = the first) and which event. */
  run: number;
  run_id: string;
  event_id: number;
  event_kind: string | null;
  path: string;
}

export interface HistoryTotals {
  runs: number;
  events: number;
  serialized_bytes: number;
  payload_bytes: number;
  continued_as_new: number;
  /** WorkflowTaskFailed and WorkflowTaskTimedOut events: tasks the worker could not complete. */
  workflow_task_failures: number;
  largest_payload: LargestPayload | null;
  /** The biggest run's history size, against Temporal's 50 MiB limit (continue-as-new suggested at 4 MiB). */
  largest_run_serialized_bytes: number;
}

export function historyTotals(runs: readonly RunHistory[], sizer: Sizer = protoSizer): HistoryTotals {
  let largest: LargestPayload | null = null;
  let events = 0;
  let serialized = 0;
  let payloadBytes = 0;
  let continued = 0;
  let failures = 0;
  let largestRun = 0;
  runs.forEach((run, runIndex) => {
    let runBytes = 0;
    for (const event of run.events) {
      events += 1;
      const size = sizer.event(event);
      runBytes += size;
      const kind = eventKind(event);
      if (kind === 'workflowExecutionContinuedAsNewEventAttributes') continued += 1;
      if (kind === 'workflowTaskFailedEventAttributes' || kind === 'workflowTaskTimedOutEventAttributes') failures += 1;
      forEachPayload(event, (payload, path) => {
        const bytes = sizer.payload(payload);
        payloadBytes += bytes;
        if (largest === null || bytes > largest.bytes) {
          largest = { bytes, run: runIndex, run_id: run.runId, event_id: longToNumber(event.eventId), event_kind: kind, path };
        }
      });
    }
    serialized += runBytes;
    largestRun = Math.max(largestRun, runBytes);
  });
  return {
    runs: runs.length,
    events,
    serialized_bytes: serialized,
    payload_bytes: payloadBytes,
    continued_as_new: continued,
    workflow_task_failures: failures,
    largest_payload: largest,
    largest_run_serialized_bytes: largestRun,
  };
}
