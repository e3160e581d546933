// bench:large's pure computations: shapes and the events a first refresh must publish (checked
// against the real aggregate and diff), the check of a refresh's events on the topic by id, and
// the per-refresh accounting of a workflow history (timer cycles, quiet refreshes, bytes, the
// start lag of a scheduled refresh, the largest payload).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryEventShape, RunHistory } from '../../bench/fleet/history.js';
import { forEachPayload, historyTotals, quietRefreshCost, rawPayloadSize, refreshCycles, slotLag, slotOf, timerLag, type Sizer } from '../../bench/large/history-cost.js';
import { shapeGoals } from '../../bench/large/report.js';
import type { ShapeResult } from '../../bench/large/run-shape.js';
import { expectedFirstRefreshEvents, parseShape, partitionsOf, shardCopiesOf } from '../../bench/large/shape.js';
import { checkRefreshEvents, parseRefreshId, toTopicEvent, type TopicEvent } from '../../bench/large/topic-events.js';
import { aggregate } from '../../src/domain/aggregate.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import { diff } from '../../src/domain/diff.js';
import type { NodeObservation } from '../../src/domain/observation.js';
import { kindProfiles } from '../../src/sim/kinds.js';

describe('shapes', () => {
  it('parses NODESxSHARDS and refuses anything else', () => {
    assert.deepEqual(parseShape('100x10'), { nodes: 100, shardsPerNode: 10 });
    assert.deepEqual(parseShape('2000×50'), { nodes: 2000, shardsPerNode: 50 });
    for (const bad of ['100', 'x10', '0x10', '10x0', '1.5x2', '10x10x10', '']) assert.throws(() => parseShape(bad), /NODESxSHARDS/, bad);
  });

  it('makes partitions = nodes × shards ÷ 3 (the issue\'s 333, 1,667 and 3,333)', () => {
    assert.equal(partitionsOf(parseShape('100x10')), 333);
    assert.equal(partitionsOf(parseShape('100x50')), 1667);
    assert.equal(partitionsOf(parseShape('500x20')), 3333);
    assert.equal(partitionsOf(parseShape('2000x50')), 33333);
    assert.equal(shardCopiesOf(parseShape('2000x50')), 99999);
    // Fewer than three brokers: every broker holds every partition.
    assert.equal(shardCopiesOf(parseShape('2x3')), 2 * 2);
  });

  it('expects the issue\'s 1,301 events at 100 × 10: 1,300 of the refresh and the discovery\'s CLUSTER_NEW', () => {
    const expected = expectedFirstRefreshEvents(100, shardCopiesOf(parseShape('100x10')));
    assert.equal(expected.total, 1300);
    assert.equal(expected.total + expected.discovery_events, 1301);
    assert.equal(Object.values(expected.by_code).reduce((a, b) => a + b, 0), expected.total);
  });

  for (const [nodes, shards] of [[5, 3], [20, 10], [4, 1]] as const) {
    it(`matches what aggregate and diff publish for a first refresh of a ${nodes} × ${shards} sim cluster`, () => {
      const shape = { nodes, shardsPerNode: shards };
      const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
      const layout = kindProfiles.kafka.initialShards('k', names, partitionsOf(shape));
      const address = (name: string): string => `http://sim/c/k/n/${name}`;
      const record: DiscoveryRecord = { cluster_id: 'k', display_name: null, nodes: names.map((name) => ({ agent_address: address(name) })) };
      const observations: NodeObservation[] = names.map((name) => ({
        address: address(name),
        status: { code: 'UP', reason: null },
        agent: { version: { checkout: 'c', number: '0.3.1', taint: 'not tainted' } },
        datastore: { cluster_id: 'k', node_id: `k-${name}`, kind: 'kafka', version: '3.6.1', cluster_display_name: null },
        shards: layout
          .filter((shard) => shard.replicas.includes(name))
          .map((shard) => ({ id: shard.id, role: shard.primary === name ? 'primary' : 'secondary', commit_offset: { unit: shard.unit, value: shard.commitOffset }, lag: null })),
        shards_error: null,
      })) as unknown as NodeObservation[];
      const view = aggregate(null, record, observations, '2025-01-01T00:00:00.000Z', { nodeRetireGraceMs: 60_000 });
      const events = diff(null, view);
      const expected = expectedFirstRefreshEvents(nodes, shardCopiesOf(shape));
      assert.equal(events.length, expected.total);
      const byCode: Record<string, number> = {};
      for (const event of events) byCode[event.event] = (byCode[event.event] ?? 0) + 1;
      assert.deepEqual(byCode, expected.by_code);
    });
  }
});

function topicEvent(id: string, offset: number, event = 'SHARD_ALLOCATION_NEW'): TopicEvent {
  const parsed = parseRefreshId(id);
  return {
    id,
    event,
    clusterId: 'c',
    generation: parsed?.generation ?? null,
    index: parsed?.index ?? null,
    timestampMs: 0,
    kafkaMs: 1000 + offset,
    receivedMs: 1000 + offset,
    partition: 0,
    offset: BigInt(offset),
    address: null,
    shardId: null,
  };
}

describe('a refresh\'s events on the topic', () => {
  it('parses refresh ids, cluster ids with slashes included, and leaves discovery ids out', () => {
    assert.deepEqual(parseRefreshId('a/b/3/17'), { clusterId: 'a/b', generation: 3, index: 17 });
    assert.equal(parseRefreshId('c/discovery/run%2F1/CLUSTER_NEW'), null);
    const event = toTopicEvent(
      { id: 'c/1/0', event: 'SHARD_PRIMARY_CHANGED', cluster_id: 'c', timestamp: '2025-01-01T00:00:00.000Z', payload: { shard_id: 'topic-3' } },
      { partition: 2, offset: '41', key: 'c', timestampMs: 5 },
    );
    assert.equal(event?.shardId, 'topic-3');
    assert.equal(event?.offset, 41n);
    assert.equal(event?.timestampMs, Date.parse('2025-01-01T00:00:00.000Z'));
  });

  it('is complete, in order and once when every index comes once in order', () => {
    const events = [topicEvent('c/discovery/r/CLUSTER_NEW', 0), ...[0, 1, 2, 3].map((i) => topicEvent(`c/1/${i}`, i + 1)), topicEvent('c/2/0', 9)];
    const check = checkRefreshEvents(events, 1, 4);
    assert.equal(check.complete_in_order_once, true);
    assert.equal(check.missing, 0);
    assert.equal(check.completed_ms, 1004);
  });

  it('counts what is missing, repeated, out of order and past the count', () => {
    const ids = [0, 2, 1, 2, 5].map((i, n) => topicEvent(`c/1/${i}`, n));
    const check = checkRefreshEvents(ids, 1, 4);
    assert.equal(check.complete_in_order_once, false);
    assert.equal(check.distinct, 3);
    assert.equal(check.missing, 1);
    assert.deepEqual(check.first_missing, [3]);
    assert.equal(check.duplicates, 1);
    assert.equal(check.out_of_order, 1);
    assert.equal(check.unexpected, 1);
    assert.equal(check.completed_ms, null);
  });

  it('with no generation seen, everything is missing', () => {
    const check = checkRefreshEvents([], null, 3);
    assert.equal(check.missing, 3);
    assert.equal(check.seen, 0);
  });
});

// --- histories --------------------------------------------------------------------------------

const t0 = Date.parse('2025-01-01T00:00:00.000Z');
let nextId = 1;

function at(ms: number, kind: string, attributes: Record<string, unknown> = {}): HistoryEventShape {
  return { eventId: nextId++, eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }, [kind]: attributes };
}

const payload = (bytes: number): { metadata: Record<string, Uint8Array>; data: Uint8Array } => ({ metadata: { encoding: new Uint8Array(16) }, data: new Uint8Array(bytes) });

/** Sizes that are easy to sum by hand: 100 bytes an event, a payload its raw bytes. */
const sizer: Sizer = { event: () => 100, payload: rawPayloadSize };

/**
 * A run whose refreshes each are: the workflow task that ran the refresh (started `lagMs` after
 * the timer fired), an observation marker of `markerBytes`, the next timer of 15 s.
 */
function run(startMs: number, cycles: number, markerBytes: number, lagMs = 20): RunHistory {
  nextId = 1;
  const events: HistoryEventShape[] = [at(startMs, 'workflowExecutionStartedEventAttributes', { input: { payloads: [payload(3000)] } })];
  const scheduled = at(startMs, 'workflowTaskScheduledEventAttributes');
  const started = at(startMs + 5, 'workflowTaskStartedEventAttributes');
  const completed = at(startMs + 10, 'workflowTaskCompletedEventAttributes', { scheduledEventId: scheduled.eventId, startedEventId: started.eventId });
  let timer = at(startMs + 10, 'timerStartedEventAttributes', { startToFireTimeout: { seconds: 15, nanos: 0 }, workflowTaskCompletedEventId: completed.eventId });
  events.push(scheduled, started, completed, timer);
  let slotMs = startMs + 5 + 15_000;
  for (let i = 0; i < cycles; i++) {
    const fired = at(slotMs, 'timerFiredEventAttributes', { startedEventId: timer.eventId });
    const s = at(slotMs, 'workflowTaskScheduledEventAttributes');
    const st = at(slotMs + lagMs, 'workflowTaskStartedEventAttributes');
    const c = at(slotMs + lagMs + 30, 'workflowTaskCompletedEventAttributes', { scheduledEventId: s.eventId, startedEventId: st.eventId });
    const marker = at(slotMs + lagMs + 30, 'markerRecordedEventAttributes', { details: { data: { payloads: [payload(markerBytes)] } } });
    timer = at(slotMs + lagMs + 30, 'timerStartedEventAttributes', { startToFireTimeout: { seconds: 15, nanos: 0 }, workflowTaskCompletedEventId: c.eventId });
    events.push(fired, s, st, c, marker, timer);
    slotMs = slotMs + lagMs + 15_000;
  }
  return { runId: `run-${startMs}`, startMs, events };
}

describe('history per refresh', () => {
  it('finds every payload with its path', () => {
    const found: string[] = [];
    forEachPayload({ a: { payloads: [payload(1), payload(2)] }, fields: { memo: payload(3) }, raw: new Uint8Array(9) }, (_, path) => found.push(path));
    assert.deepEqual(found, ['a.payloads.0', 'a.payloads.1', 'fields.memo']);
  });

  it('counts events and bytes per timer cycle, and which cycles were quiet', () => {
    const history = run(t0, 4, 1000);
    // A refresh with events in the third cycle (its envelope timestamp: the cycle's workflow time).
    const cycles = refreshCycles([history], [t0 + 5 + 15_000 + 2 * 15_020 + 20], sizer);
    // Four timers fired: three whole cycles and the last one, still open.
    assert.equal(cycles.length, 4);
    assert.deepEqual(
      cycles.map((cycle) => [cycle.closed, cycle.events, cycle.quiet]),
      [
        [true, 6, true],
        [true, 6, true],
        [true, 6, false],
        [false, 6, true],
      ],
    );
    // Six events of 100 bytes; one payload of 1000 bytes of data and "encoding" with 16 bytes.
    assert.equal(cycles[0]!.serialized_bytes, 600);
    assert.equal(cycles[0]!.payload_bytes, 1000 + 8 + 16);
    const cost = quietRefreshCost(cycles, t0, t0 + 10 * 15_000);
    assert.equal(cost.refreshes, 3);
    assert.equal(cost.quiet_refreshes, 2);
    assert.deepEqual(cost.events_per_quiet_refresh, { mean: 6, max: 6 });
    assert.deepEqual(cost.serialized_bytes_per_quiet_refresh, { mean: 600, max: 600 });
  });

  it('takes a refresh\'s start lag from its timer: the TimerFired (its slot) → the next workflow task started', () => {
    const history = run(t0, 2, 10, 250);
    const fired = history.events.filter((event) => event.timerFiredEventAttributes);
    assert.equal(timerLag(history.events, fired[0]!), 250);
    assert.equal(timerLag(history.events, fired[1]!), 250);
    const cost = quietRefreshCost(refreshCycles([history], [], sizer), t0, t0 + 60_000);
    assert.deepEqual(cost.timer_lag_ms, { p50: 250, p99: 250, max: 250, refreshes: 1 });
  });

  it('finds the slot a timer stands for, whether it fired late or was set early', () => {
    const grid = { phaseMs: 4_000, intervalMs: 60_000 };
    assert.equal(slotOf(124_000, grid), 124_000); // on time
    assert.equal(slotOf(126_500, grid), 124_000); // fired 2.5 s late
    assert.equal(slotOf(124_000 + 44_000, grid), 124_000); // late by less than ¾ interval
    assert.equal(slotOf(122_200, grid), 124_000); // set 1.8 s early
    assert.equal(slotOf(124_000 - 15_000, grid), 124_000); // early by a quarter interval, the bound
  });

  it('takes a refresh\'s lag against its slot from the task that started it', () => {
    // The fixture's slot timers fire at t0 + 5 + 15,000 (+ 15,250 per cycle): with the phase on
    // that first TimerFired the first refresh starts 250 ms after its slot, the second 500 ms.
    const history = run(t0, 2, 10, 250);
    const fired = history.events.filter((event) => event.timerFiredEventAttributes);
    const grid = { phaseMs: (t0 + 5 + 15_000) % 15_000, intervalMs: 15_000 };
    assert.equal(slotLag(history.events, fired[0]!, grid), 250);
    assert.equal(slotLag(history.events, fired[1]!, grid), 500);
    // A task that started before its slot (the timer was set early) is a negative lag.
    assert.equal(slotLag(history.events, fired[0]!, { ...grid, phaseMs: grid.phaseMs + 400 }), -150);
    const cost = quietRefreshCost(refreshCycles([history], [], sizer, grid), t0, t0 + 60_000);
    assert.deepEqual(cost.slot_lag_ms, { p50: 250, p99: 250, max: 250, refreshes: 1 });
    assert.equal(quietRefreshCost(refreshCycles([history], [], sizer), t0, t0 + 60_000).slot_lag_ms, null);
  });

  it('does not start a cycle at the 1 ms timer of a refresh with events', () => {
    const history = run(t0, 3, 10);
    // After the first cycle's task: a 1 ms timer, its fire and a second task, before the next slot timer.
    const firstTask = history.events.findIndex((event) => event.markerRecordedEventAttributes);
    const completed = history.events[firstTask - 1]!;
    const short = at(t0 + 15_100, 'timerStartedEventAttributes', { startToFireTimeout: { seconds: 0, nanos: 1e6 }, workflowTaskCompletedEventId: completed.eventId });
    const shortFired = at(t0 + 15_101, 'timerFiredEventAttributes', { startedEventId: short.eventId });
    history.events.splice(firstTask + 1, 0, short, shortFired, at(t0 + 15_101, 'workflowTaskScheduledEventAttributes'));
    const cycles = refreshCycles([history], [], sizer);
    assert.equal(cycles.length, 3);
    assert.equal(cycles[0]!.events, 6 + 3);
  });

  it('reads a continue-as-new chain as one: the cycle that continues as new carries both ends', () => {
    const first = run(t0, 2, 10);
    first.events.push(at(t0 + 40_000, 'workflowExecutionContinuedAsNewEventAttributes', { input: { payloads: [payload(70_000)] } }));
    const second = run(t0 + 40_000, 2, 10);
    const cycles = refreshCycles([first, second], [], sizer);
    // first: 2 fired; second: 2 fired. The second cycle runs from first's last TimerFired into second's first.
    assert.equal(cycles.length, 4);
    assert.equal(cycles[1]!.continued_as_new, true);
    assert.equal(cycles[1]!.events, 6 + 1 + 5);
    const totals = historyTotals([first, second], sizer);
    assert.equal(totals.runs, 2);
    assert.equal(totals.continued_as_new, 1);
    assert.equal(totals.events, first.events.length + second.events.length);
    assert.equal(totals.largest_payload?.bytes, 70_000 + 8 + 16);
    assert.equal(totals.largest_payload?.event_kind, 'workflowExecutionContinuedAsNewEventAttributes');
    assert.equal(totals.largest_payload?.path, 'workflowExecutionContinuedAsNewEventAttributes.input.payloads.0');
  });
});

describe('goals', () => {
  it('marks figures against the goals and leaves what was not reached unmarked', () => {
    const result = {
      shape: '100x50',
      interval_s: 60,
      first_refresh: { completed: false, timeout_s: 180, events: checkRefreshEvents([], null, 5301) },
      later_refreshes: null,
      history: { quiet: null, totals: null, error: null },
      detection: null,
      blob_warnings: { worker: { count: 1 }, temporal: { count: 0 } },
      ratios: { worker_vs_poller: null, fleetview_total_vs_poller: null, fleetview_above_idle_vs_poller: null },
      worker_rss_mb: { peak: 300, at_end: 280 },
      view: null,
    } as unknown as ShapeResult;
    const goals = Object.fromEntries(shapeGoals(result).map((goal) => [goal.figure, goal.met]));
    assert.equal(goals['first refresh: every event on the topic, in order, once'], false);
    assert.equal(goals['later refreshes: done ÷ due'], null);
    assert.equal(goals['blob-size warnings logged (worker + Temporal)'], false);
    assert.equal(goals['worker RSS peak / at end (MB)'], true);
  });
});
