// The fleet benchmark's summary of repeated runs (bench/fleet/summary.ts): per figure the median
// run and the worst one, the worst being the lowest done ÷ due and the highest of the rest, an
// incomplete onboarding counting as the worst, and runs without a figure left out but counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetviewResult } from '../../bench/fleet/fleetview-run.js';
import type { SizeResult } from '../../bench/fleet/report.js';
import { median } from '../../bench/fleet/stats.js';
import { sizeRuns, summarizeRuns, summaryTable } from '../../bench/fleet/summary.js';

interface Figures {
  doneRatio?: number | null;
  nodeDown?: { p99: number | null; max: number | null; missed: number };
  agentDown?: { p99: number | null; missed: number };
  cpu?: { worker: number | null; total: number | null };
  onboardingS?: number | null;
  lagP99?: number | null;
}

/** The figure given, null included; the filler only when none is given. */
const given = <T>(value: T | undefined, filler: T): T => (value === undefined ? filler : value);

/** A run with the summed-up figures set and the rest filler: the summary must read only those. */
function run(figures: Figures, status: SizeResult['status'] = 'ok'): SizeResult {
  const detection = (d: { p99: number | null; max?: number | null; missed: number }) => ({ faults: 3, detected: 3 - d.missed, missed: d.missed, p50_s: 1, p99_s: d.p99, max_s: d.max ?? d.p99 });
  const onboarding = figures.onboardingS ?? null;
  const fleetview = {
    onboarding: { completed: onboarding !== null, seconds: onboarding, every_agent_new_s: onboarding, timeout_s: 120, clusters_onboarded: 5, nodes_seen: 15, refreshes_completed: 5 },
    refreshes: { done: 20, due: 20, done_ratio: given(figures.doneRatio, 1), lag_p50_ms: 25, lag_p99_ms: given(figures.lagP99, 49.5), duration_p50_ms: 20, duration_p99_ms: 90, node_observations_seen_by_sim: 60 },
    detection: {
      datastore_down: detection(figures.nodeDown ?? { p99: 5, max: 6, missed: 0 }),
      agent_down: detection(figures.agentDown ?? { p99: 5, missed: 0 }),
    },
    cpu_ms_per_node_refresh: { worker: given(figures.cpu?.worker, 4), sim: 1, temporal: 2, kafka: 1, store: 1, fleetview_total: given(figures.cpu?.total, 8) },
  } as unknown as FleetviewResult;
  return {
    clusters: 5,
    nodes_per_cluster: 3,
    nodes: 15,
    interval_s: 5,
    repeat: { run: 1, of: 1 },
    status,
    fleetview,
    prometheus: null,
    poller: null,
    errors: [],
    notes: [],
    cleanup_problems: [],
    worker_cpu_profiles: null,
    duration_s: 60,
  } as unknown as SizeResult;
}

const failed = (): SizeResult => ({ ...run({}), status: 'failed', fleetview: null });

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.equal(median([]), null);
  });

  it('is null when it falls on an infinite value', () => {
    assert.equal(median([1, Infinity, Infinity]), null);
    assert.equal(median([1, 2, Infinity]), 2);
    assert.equal(median([1, Infinity]), null);
  });
});

describe('summarizeRuns', () => {
  it('gives the median and the lowest done ÷ due, the median and the highest of the rest', () => {
    const summary = summarizeRuns([
      run({ doneRatio: 1.02, nodeDown: { p99: 9, max: 12, missed: 0 }, agentDown: { p99: 7, missed: 1 }, cpu: { worker: 4.1, total: 7.8 }, onboardingS: 140, lagP99: 49.5 }),
      run({ doneRatio: 0.73, nodeDown: { p99: 15.7, max: 16, missed: 2 }, agentDown: { p99: 15, missed: 0 }, cpu: { worker: 4.6, total: 9.3 }, onboardingS: 190, lagP99: 99 }),
      run({ doneRatio: 0.99, nodeDown: { p99: 12, max: 13, missed: 0 }, agentDown: { p99: 9, missed: 0 }, cpu: { worker: 4.3, total: 8.1 }, onboardingS: 150, lagP99: 49.5 }),
    ]);
    assert.equal(summary.runs, 3);
    assert.deepEqual(summary.statuses, ['ok', 'ok', 'ok']);
    assert.deepEqual(summary.done_ratio, { median: 0.99, worst: 0.73, runs_with_figure: 3 });
    assert.deepEqual(summary.node_down_p99_s, { median: 12, worst: 15.7, runs_with_figure: 3 });
    assert.deepEqual(summary.node_down_max_s, { median: 13, worst: 16, runs_with_figure: 3 });
    assert.deepEqual(summary.node_down_missed, { median: 0, worst: 2, runs_with_figure: 3 });
    assert.deepEqual(summary.agent_down_p99_s, { median: 9, worst: 15, runs_with_figure: 3 });
    assert.deepEqual(summary.agent_down_missed, { median: 0, worst: 1, runs_with_figure: 3 });
    assert.deepEqual(summary.worker_cpu_ms_per_node_refresh, { median: 4.3, worst: 4.6, runs_with_figure: 3 });
    assert.deepEqual(summary.total_cpu_ms_per_node_refresh, { median: 8.1, worst: 9.3, runs_with_figure: 3 });
    assert.deepEqual(summary.onboarding_s, { median: 150, worst: 190, runs_with_figure: 3, incomplete_runs: 0 });
    assert.deepEqual(summary.refresh_lag_p99_ms, { median: 49.5, worst: 99, runs_with_figure: 3 });
  });

  it('counts an incomplete onboarding as the worst, and as the median when it is the middle run', () => {
    const one = summarizeRuns([run({ onboardingS: 140 }), run({ onboardingS: null }), run({ onboardingS: 150 })]);
    assert.deepEqual(one.onboarding_s, { median: 150, worst: null, runs_with_figure: 3, incomplete_runs: 1 });
    const two = summarizeRuns([run({ onboardingS: 140 }), run({ onboardingS: null }), run({ onboardingS: null })]);
    assert.deepEqual(two.onboarding_s, { median: null, worst: null, runs_with_figure: 3, incomplete_runs: 2 });
  });

  it('leaves out runs without a figure but says how many gave one', () => {
    const summary = summarizeRuns([run({ doneRatio: 0.95, nodeDown: { p99: null, max: null, missed: 3 } }), failed(), run({ doneRatio: 1, nodeDown: { p99: 6, max: 7, missed: 0 } })]);
    assert.deepEqual(summary.statuses, ['ok', 'failed', 'ok']);
    assert.deepEqual(summary.done_ratio, { median: 0.975, worst: 0.95, runs_with_figure: 2 });
    assert.deepEqual(summary.node_down_p99_s, { median: 6, worst: 6, runs_with_figure: 1 });
    assert.deepEqual(summary.node_down_missed, { median: 1.5, worst: 3, runs_with_figure: 2 });
    assert.deepEqual(summary.onboarding_s.runs_with_figure, 2);
    assert.deepEqual(summary.worker_cpu_ms_per_node_refresh, { median: 4, worst: 4, runs_with_figure: 2 });
  });

  it('of a single run, both columns are that run', () => {
    const summary = summarizeRuns([run({ doneRatio: 0.98, cpu: { worker: 4.1, total: null }, onboardingS: 23.2 })]);
    assert.deepEqual(summary.done_ratio, { median: 0.98, worst: 0.98, runs_with_figure: 1 });
    assert.deepEqual(summary.total_cpu_ms_per_node_refresh, { median: null, worst: null, runs_with_figure: 0 });
    assert.deepEqual(summary.onboarding_s, { median: 23.2, worst: 23.2, runs_with_figure: 1, incomplete_runs: 0 });
  });
});

describe('sizeRuns and summaryTable', () => {
  it('keeps every run and prints median | worst, naming missing figures and incomplete runs', () => {
    const size = sizeRuns([run({ doneRatio: 1, onboardingS: 20 }), run({ doneRatio: 0.8, onboardingS: null }, 'not_keeping_up'), failed()]);
    assert.equal(size.runs.length, 3);
    assert.deepEqual([size.clusters, size.nodes_per_cluster, size.nodes, size.interval_s], [5, 3, 15, 5]);
    const table = summaryTable(size);
    assert.match(table, /^#### 5 clusters × 3 nodes \(15 nodes\), interval 5 s: 3 runs, 1 kept up, 1 did NOT keep up, 1 FAILED$/m);
    assert.match(table, /^\| figure over 3 runs \| median \| worst \|$/m);
    assert.match(table, /^\| done ÷ due over the window \(worst: lowest\) \| 0\.9 \(2 of 3 runs\) \| 0\.8 \(2 of 3 runs\) \|$/m);
    assert.match(table, /^\| onboarding \(s\) \| incomplete in 1 of 3 runs \| incomplete in 1 of 3 runs \|$/m);
  });

  it('refuses an empty list of runs', () => {
    assert.throws(() => sizeRuns([]), /at least one run/);
  });
});
