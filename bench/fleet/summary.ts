/**
 * The runs of one size summed up (`--repeat N`): per figure, the median run and the worst run.
 * "Keeps up every time" is a claim about the worst run, so the worst is shown beside the median
 * rather than a mean that one bad run would only nudge. Pure: test/unit/bench-summary.test.ts
 * feeds it results by hand.
 */
import { show, type SizeResult } from './report.js';
import { median, round } from './stats.js';

export interface Spread {
  median: number | null;
  worst: number | null;
  /** Runs that produced the figure: a failed fleetview phase, or detection that missed every fault, produces none. */
  runs_with_figure: number;
}

export interface SizeSummary {
  runs: number;
  statuses: SizeResult['status'][];
  /** Worst: the lowest. Every other figure's worst is its highest. */
  done_ratio: Spread;
  node_down_p99_s: Spread;
  node_down_max_s: Spread;
  node_down_missed: Spread;
  agent_down_p99_s: Spread;
  agent_down_missed: Spread;
  worker_cpu_ms_per_node_refresh: Spread;
  /** Worker + Temporal + Kafka + store. */
  total_cpu_ms_per_node_refresh: Spread;
  /**
   * An incomplete onboarding counts as the worst (longer than any completed one): the worst is
   * then null, and so is the median when it falls on an incomplete run; incomplete_runs says how many.
   */
  onboarding_s: Spread & { incomplete_runs: number };
  refresh_lag_p99_ms: Spread;
}

/** The runs of one size, every one kept, and their summary. */
export interface SizeRuns {
  clusters: number;
  nodes_per_cluster: number;
  nodes: number;
  interval_s: number;
  runs: SizeResult[];
  summary: SizeSummary;
}

function spread(figures: readonly (number | null | undefined)[], worst: 'lowest' | 'highest'): Spread {
  const values = figures.filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
  const extreme = values.length === 0 ? null : worst === 'lowest' ? Math.min(...values) : Math.max(...values);
  return {
    median: round(median(values), 3),
    worst: extreme === null || !Number.isFinite(extreme) ? null : round(extreme, 3),
    runs_with_figure: values.length,
  };
}

function onboardingSpread(runs: readonly SizeResult[]): SizeSummary['onboarding_s'] {
  const measured = runs.flatMap((run) => (run.fleetview ? [run.fleetview.onboarding] : []));
  // Incomplete sorts above every completed time, so it is the worst and can be the median.
  const seconds = measured.map((onboarding) => (onboarding.completed && onboarding.seconds !== null ? onboarding.seconds : Infinity));
  return { ...spread(seconds, 'highest'), incomplete_runs: seconds.filter((s) => s === Infinity).length };
}

export function summarizeRuns(runs: readonly SizeResult[]): SizeSummary {
  const f = runs.map((run) => run.fleetview);
  return {
    runs: runs.length,
    statuses: runs.map((run) => run.status),
    done_ratio: spread(f.map((v) => v?.refreshes.done_ratio), 'lowest'),
    node_down_p99_s: spread(f.map((v) => v?.detection.datastore_down.p99_s), 'highest'),
    node_down_max_s: spread(f.map((v) => v?.detection.datastore_down.max_s), 'highest'),
    node_down_missed: spread(f.map((v) => v?.detection.datastore_down.missed), 'highest'),
    agent_down_p99_s: spread(f.map((v) => v?.detection.agent_down.p99_s), 'highest'),
    agent_down_missed: spread(f.map((v) => v?.detection.agent_down.missed), 'highest'),
    worker_cpu_ms_per_node_refresh: spread(f.map((v) => v?.cpu_ms_per_node_refresh.worker), 'highest'),
    total_cpu_ms_per_node_refresh: spread(f.map((v) => v?.cpu_ms_per_node_refresh.fleetview_total), 'highest'),
    onboarding_s: onboardingSpread(runs),
    refresh_lag_p99_ms: spread(f.map((v) => v?.refreshes.lag_p99_ms), 'highest'),
  };
}

/** The runs of one size (all of the same parameters) with their summary. */
export function sizeRuns(runs: readonly SizeResult[]): SizeRuns {
  const first = runs[0];
  if (!first) throw new Error('a size needs at least one run');
  return {
    clusters: first.clusters,
    nodes_per_cluster: first.nodes_per_cluster,
    nodes: first.nodes,
    interval_s: first.interval_s,
    runs: [...runs],
    summary: summarizeRuns(runs),
  };
}

// --- the table ------------------------------------------------------------------------------

/** The run count is spelt out where some runs gave no figure, so a median of one run does not pass for one of five. */
function cells(figure: Spread, runs: number): [string, string] {
  const of = figure.runs_with_figure < runs ? ` (${figure.runs_with_figure} of ${runs} runs)` : '';
  return [`${show(figure.median)}${of}`, `${show(figure.worst)}${of}`];
}

function onboardingCells(figure: SizeSummary['onboarding_s'], runs: number): [string, string] {
  if (figure.incomplete_runs === 0) return cells(figure, runs);
  const incomplete = `incomplete in ${figure.incomplete_runs} of ${runs} runs`;
  const [medianCell] = cells(figure, runs);
  return [figure.median === null ? incomplete : medianCell, incomplete];
}

function statusCounts(statuses: readonly SizeResult['status'][]): string {
  const count = (status: SizeResult['status']): number => statuses.filter((s) => s === status).length;
  const parts = [`${count('ok')} kept up`, count('not_keeping_up') > 0 ? `${count('not_keeping_up')} did NOT keep up` : null, count('failed') > 0 ? `${count('failed')} FAILED` : null];
  return parts.filter(Boolean).join(', ');
}

export function summaryTable(size: SizeRuns): string {
  const s = size.summary;
  const rows: [string, [string, string]][] = [
    ['done ÷ due over the window (worst: lowest)', cells(s.done_ratio, s.runs)],
    ['datastore down → NODE_DOWN p99 (s)', cells(s.node_down_p99_s, s.runs)],
    ['datastore down → NODE_DOWN max (s)', cells(s.node_down_max_s, s.runs)],
    ['NODE_DOWN missed', cells(s.node_down_missed, s.runs)],
    ['agent down → AGENT_DOWN p99 (s)', cells(s.agent_down_p99_s, s.runs)],
    ['AGENT_DOWN missed', cells(s.agent_down_missed, s.runs)],
    ['CPU ms per node-refresh: worker', cells(s.worker_cpu_ms_per_node_refresh, s.runs)],
    ['CPU ms per node-refresh: worker + Temporal + Kafka + store', cells(s.total_cpu_ms_per_node_refresh, s.runs)],
    ['onboarding (s)', onboardingCells(s.onboarding_s, s.runs)],
    ['refresh lag p99 (ms)', cells(s.refresh_lag_p99_ms, s.runs)],
  ];
  const title = `#### ${size.clusters} clusters × ${size.nodes_per_cluster} nodes (${size.nodes} nodes), interval ${size.interval_s} s: ${s.runs} runs, ${statusCounts(s.statuses)}`;
  return [title, '', `| figure over ${s.runs} runs | median | worst |`, '|---|---|---|', ...rows.map(([name, [m, w]]) => `| ${name} | ${m} | ${w} |`)].join('\n');
}
