import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noControls } from '../../src/domain/cluster-controls.js';
import {
  aboveGenerationFloor,
  clusterRefreshDefaults,
  continuedInput,
  defaultLayerOf,
  formerDefaultRefreshesPerRun,
  largeClusterEntries,
  largeClusterRunFactor,
  refreshesForRun,
  describeRefresh,
  planStoreWrite,
  refreshReport,
  startingCycle,
  touchSummary,
  type RunHandover,
} from '../../src/domain/refresh-cycle.js';
import { at, nodeDown, record, refresh, up } from './domain-fixtures.js';

const first = refresh(null, record([1, 2]), [up(1), up(2)], at(0)).view;
/** The same cluster one refresh later, `minutes` after the first, nothing material changed. */
const quietAfter = (minutes: number) => refresh(first, record([1, 2]), [up(1), up(2)], at(minutes)).view;

describe('planStoreWrite', () => {
  it('writes the view when nothing is stored yet, or when it changed materially', () => {
    assert.equal(planStoreWrite(null, first, 300), 'view');
    const changed = refresh(first, record([1, 2]), [up(1), nodeDown(2)], at(1)).view;
    assert.equal(planStoreWrite(first, changed, 300), 'view');
  });

  it('writes nothing for a quiet refresh, and the summary once the stored one is store_touch_s old', () => {
    assert.equal(planStoreWrite(first, quietAfter(1), 300), 'none');
    assert.equal(planStoreWrite(first, quietAfter(5), 300), 'touch');
    assert.equal(planStoreWrite(first, quietAfter(4), 300), 'none');
  });

  it('touches with the summary only', () => {
    const touch = touchSummary(first);
    assert.deepEqual([touch.members, touch.shards], [[], []]);
    assert.equal(touch.nodes, first.nodes);
  });
});

describe('a refresh', () => {
  it('numbers above the generations a predecessor may have published', () => {
    assert.equal(aboveGenerationFloor(first, 0), first);
    assert.equal(aboveGenerationFloor(first, 7).generation, 8);
  });

  it('reports what it did', () => {
    const started = Date.parse(at(0));
    const report = refreshReport({ view: first, started_ms: started, finished_ms: started + 42, observations: [up(1), nodeDown(2)], events: [], store: 'written' });
    assert.deepEqual(report, {
      generation: first.generation,
      started_at: at(0),
      duration_ms: 42,
      nodes_fetched: 2,
      nodes_down: 1,
      events_emitted: 0,
      status: first.status,
      store: 'written',
    });
    const details = describeRefresh(first, report, started + 15_000);
    assert.match(details, /generation 1 .* took 42 ms, 0 events, store written/);
    assert.match(details, /next scheduled refresh at 2026-11-24T10:00:15.000Z/);
  });
});

describe('continue-as-new', () => {
  const handover: RunHandover = {
    record: { ...record([1, 2]), settings: { refresh_interval_s: 30 } },
    start_settings: { ...clusterRefreshDefaults, refresh_interval_s: 15, cluster_retire_grace_s: 600 },
    defaults: { refresh_interval_s: 20, node_retire_grace_s: 30 },
    view: first,
    stored_view: first,
    last_report: null,
    last_slot_at_ms: 1234,
    controls: { controls: { ...noControls, revision: 3 }, owed: false },
  };

  it('carries the view once when it is the stored one, and the stored one beside it when not', () => {
    const carried = continuedInput(handover).carried!;
    assert.ok(!('stored_view' in carried));
    assert.equal(carried.view, first);
    assert.equal(carried.refresh_pending, false);
    const behind = continuedInput({ ...handover, view: quietAfter(1) }).carried!;
    assert.equal(behind.stored_view, first);
  });

  it('hands on the default layer as it stands, the record with its settings and the controls', () => {
    const input = continuedInput({ ...handover, controls: { controls: { ...noControls, revision: 3 }, owed: true } });
    assert.equal(input.refresh_interval_s, 20);
    assert.equal(input.agent_timeout_ms, null);
    assert.equal(input.cluster_retire_grace_s, null, 'the default layer has no cluster grace: null, not the start value');
    assert.deepEqual(input.settings, { refresh_interval_s: 30 });
    assert.equal(input.carried?.controls?.revision, 3);
    assert.equal(input.carried?.controls_owed, true);
    assert.equal(input.carried?.last_slot_at_ms, 1234);
    assert.deepEqual(JSON.parse(JSON.stringify(input)), input, 'plain JSON');
  });

  it('brings a run started with the former per-run default (500) to today\'s, and keeps any other value', () => {
    for (const controls of [handover.controls, null]) {
      const formerDefault = continuedInput({ ...handover, controls, start_settings: { ...handover.start_settings, max_refreshes_per_run: formerDefaultRefreshesPerRun } });
      assert.equal(formerDefault.max_refreshes_per_run, clusterRefreshDefaults.max_refreshes_per_run);
      assert.equal(formerDefault.refresh_interval_s, controls ? 20 : 15, 'the other settings as before');
      const chosen = continuedInput({ ...handover, controls, start_settings: { ...handover.start_settings, max_refreshes_per_run: 120 } });
      assert.equal(chosen.max_refreshes_per_run, 120);
    }
    assert.equal(clusterRefreshDefaults.max_refreshes_per_run, 20);
  });

  it('cuts a new workflow\'s first run by a stable share per cluster, so a fleet onboarded together does not continue as new together', () => {
    const run = (cluster_id: string, continued = false, entries = 3) => refreshesForRun({ cluster_id, max_per_run: 20, continued, entries });
    const ids = Array.from({ length: 1_000 }, (_, i) => `orders-${i}`);
    const firstRuns = ids.map((id) => run(id));
    assert.ok(firstRuns.every((n) => Number.isInteger(n) && n >= 1 && n <= 20), 'from 1 to the setting');
    const perLength = new Map<number, number>();
    for (const n of firstRuns) perLength.set(n, (perLength.get(n) ?? 0) + 1);
    assert.equal(perLength.size, 20, 'every length taken');
    assert.ok(Math.max(...perLength.values()) <= 100, `no length taken by more than a tenth: ${[...perLength.values()].join(', ')}`);
    assert.deepEqual(ids.map((id) => run(id)), firstRuns, 'stable');
    assert.ok(ids.every((id) => run(id, true) === 20), 'continued runs take the setting');
    assert.equal(refreshesForRun({ cluster_id: 'rs0', max_per_run: 1, continued: false, entries: 3 }), 1);
  });

  it('runs a large cluster longer: each new run begins with a full observation', () => {
    assert.equal(refreshesForRun({ cluster_id: 'kafka-0', max_per_run: 20, continued: true, entries: largeClusterEntries - 1 }), 20);
    assert.equal(refreshesForRun({ cluster_id: 'kafka-0', max_per_run: 20, continued: true, entries: largeClusterEntries }), 20 * largeClusterRunFactor);
    const first = refreshesForRun({ cluster_id: 'kafka-0', max_per_run: 20, continued: false, entries: 500 + 3_333 });
    assert.ok(first >= 1 && first <= 20 * largeClusterRunFactor);
  });

  it('gives a run before operator controls and the slot clock the input it always had', () => {
    const input = continuedInput({ ...handover, controls: null, last_slot_at_ms: undefined });
    assert.deepEqual(Object.keys(input).sort(), ['agent_timeout_ms', 'carried', 'cluster_id', 'display_name', 'max_refreshes_per_run', 'node_retire_grace_s', 'nodes', 'refresh_interval_s', 'store_touch_s']);
    assert.equal(input.refresh_interval_s, 15);
    assert.ok(!('last_slot_at_ms' in input.carried!));
    assert.ok(!('controls' in input.carried!));
  });

  it('starts the default layer from the flat start settings, leaving unset what is null', () => {
    assert.deepEqual(defaultLayerOf(clusterRefreshDefaults), { refresh_interval_s: 15, node_retire_grace_s: 30 });
    assert.deepEqual(defaultLayerOf({ ...clusterRefreshDefaults, agent_timeout_ms: 500, cluster_retire_grace_s: 60 }), {
      refresh_interval_s: 15,
      node_retire_grace_s: 30,
      agent_timeout_ms: 500,
      cluster_retire_grace_s: 60,
    });
  });

  it('starts a continued run where its predecessor stood, a new one empty', () => {
    const continued = startingCycle({ view: first, last_report: null, refresh_pending: false });
    assert.equal(continued.stored_view, continued.view);
    assert.equal(continued.published_generation, first.generation);
    assert.equal(startingCycle({ view: first, last_report: null, refresh_pending: false, stored_view: null }).stored_view, null);
    const fresh = startingCycle(undefined);
    assert.deepEqual([fresh.view, fresh.stored_view, fresh.published_generation, fresh.phase], [null, null, 0, 'waiting']);
  });
});
