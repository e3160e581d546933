/**
 * bench:large's figures against issue 17's goals, and its tables (Markdown, as bench:fleet's):
 * one per shape, one for the mixed fleet. Figures, not verdicts: each goal row shows the figure
 * and whether it meets the goal (✓ / ✗), or – when the figure was not reached.
 */
import { show } from '../fleet/report.js';
import type { LagStats } from './history-cost.js';
import type { MixedResult } from './mixed.js';
import type { ShapeResult } from './run-shape.js';

export interface GoalMark {
  figure: string;
  value: string;
  goal: string;
  /** null: the figure was not reached (or the goal does not apply to a figure of this run). */
  met: boolean | null;
}

const KiB = 1024;
/** Temporal's default blob-size warning limit; the error limit is 2 MiB. */
export const payloadWarnBytes = 512 * KiB;

function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (value < 10 * KiB) return `${value} B`;
  if (value < 10 * KiB * KiB) return `${(value / KiB).toFixed(1)} KiB`;
  return `${(value / KiB / KiB).toFixed(2)} MiB`;
}

const at = (value: number | null | undefined, test: (v: number) => boolean): boolean | null => (value === null || value === undefined ? null : test(value));

export function shapeGoals(r: ShapeResult): GoalMark[] {
  const first = r.first_refresh;
  const events = first.events;
  const later = r.later_refreshes;
  const quiet = r.history.quiet;
  const detection = r.detection;
  const largest = r.history.totals?.largest_payload?.bytes ?? null;
  const warnings = r.blob_warnings === null ? null : r.blob_warnings.worker.count + r.blob_warnings.temporal.count;
  const detectionCell = (d: { max_s: number | null; p50_s: number | null; missed: number; faults: number } | undefined): string =>
    d ? `p50 ${show(d.p50_s)} / max ${show(d.max_s)} s, missed ${d.missed} of ${d.faults}` : '–';
  const detectionMet = (d: { max_s: number | null; missed: number; faults: number } | undefined, bound: number): boolean | null =>
    !d || d.faults === 0 ? null : d.missed === 0 && d.max_s !== null && d.max_s <= bound;
  const bound = detection?.bound_s ?? r.interval_s + 5;
  return [
    {
      figure: 'first refresh: every event on the topic, in order, once',
      value: events
        ? `${events.distinct} of ${events.expected}${events.duplicates ? `, ${events.duplicates} repeated` : ''}${events.out_of_order ? `, ${events.out_of_order} out of order` : ''}${events.unexpected ? `, ${events.unexpected} unexpected` : ''}`
        : '–',
      goal: 'all, in order, once',
      met: events ? first.completed && events.complete_in_order_once : false,
    },
    {
      figure: 'first refresh: workflow start → refresh complete / all events on the topic (s)',
      value: first.completed ? `${show(first.refresh_complete_s)} / ${show(first.all_events_on_topic_s)}` : `NOT complete within ${first.timeout_s} s of the apply`,
      goal: '< 60 s (the goal names 2,000 × 50)',
      met: first.completed ? at(first.all_events_on_topic_s, (v) => v < 60) : false,
    },
    {
      figure: 'later refreshes: done ÷ due',
      value: later ? `${show(later.done_ratio)} (${show(later.done)} of ${later.due})` : '–',
      goal: '≥ 0.99',
      met: at(later?.done_ratio, (v) => v >= 0.99),
    },
    {
      figure: 'later refreshes: start lag p99 against the slot, from the history (ms)',
      value: quiet?.slot_lag_ms ? `${lagCell(quiet.slot_lag_ms)}; after the timer fired ${lagCell(quiet.timer_lag_ms)}` : '–',
      goal: '< 1000',
      met: at(quiet?.slot_lag_ms?.p99, (v) => v < 1000),
    },
    {
      figure: 'later refreshes: fleetview_refresh_lag p99 (ms)',
      value: show(later?.metric_lag_p99_ms),
      goal: '< 1000',
      met: at(later?.metric_lag_p99_ms, (v) => v < 1000),
    },
    { figure: 'broker datastore down → NODE_DOWN', value: detectionCell(detection?.node_down), goal: `≤ ${bound} s (interval + 5)`, met: detectionMet(detection?.node_down, bound) },
    {
      figure: 'partition leader moved → SHARD_PRIMARY_CHANGED',
      value: detectionCell(detection?.primary_changed),
      goal: `≤ ${bound} s (interval + 5)`,
      met: detectionMet(detection?.primary_changed, bound),
    },
    {
      figure: 'history events per quiet refresh: mean / max',
      value: quiet && quiet.quiet_refreshes > 0 ? `${show(quiet.events_per_quiet_refresh.mean)} / ${show(quiet.events_per_quiet_refresh.max)} (${quiet.quiet_refreshes} quiet)` : '–',
      goal: '≤ 10',
      met: at(quiet?.events_per_quiet_refresh.max, (v) => v <= 10),
    },
    {
      figure: 'history bytes per quiet refresh: serialized mean / max (payloads mean)',
      value:
        quiet && quiet.quiet_refreshes > 0
          ? `${bytes(quiet.serialized_bytes_per_quiet_refresh.mean)} / ${bytes(quiet.serialized_bytes_per_quiet_refresh.max)} (${bytes(quiet.payload_bytes_per_quiet_refresh.mean)})`
          : '–',
      goal: '≤ 16 KiB',
      met: at(quiet?.serialized_bytes_per_quiet_refresh.max, (v) => v <= 16 * KiB),
    },
    {
      figure: 'largest payload in the history (every run)',
      value: largest === null ? '–' : `${bytes(largest)} (${r.history.totals!.largest_payload!.event_kind?.replace(/EventAttributes$/, '') ?? '?'})`,
      goal: '< 512 KiB (Temporal warns there, refuses at 2 MiB)',
      met: at(largest, (v) => v < payloadWarnBytes),
    },
    {
      figure: '`view` query answer',
      value: r.view ? (r.view.query_bytes !== null ? `${bytes(r.view.query_bytes)} in ${show(r.view.query_ms)} ms` : `error ${r.view.query_error}`) : '–',
      goal: '< 512 KiB (bounded)',
      met: at(r.view?.query_bytes, (v) => v < payloadWarnBytes),
    },
    {
      figure: 'blob-size warnings logged (worker + Temporal)',
      value: warnings === null ? '–' : String(warnings),
      goal: 'none',
      met: warnings === null ? null : warnings === 0,
    },
    {
      figure: 'CPU per node-refresh: worker + Temporal + Kafka + store ÷ bare poller',
      value:
        r.ratios.fleetview_total_vs_poller === null
          ? '–'
          : `${r.ratios.fleetview_total_vs_poller}× (worker alone ${show(r.ratios.worker_vs_poller)}×; above the idle floor ${show(r.ratios.fleetview_above_idle_vs_poller)}×)`,
      goal: '≤ 3× (the goal names 1,000 × 50)',
      met: at(r.ratios.fleetview_total_vs_poller, (v) => v <= 3),
    },
    {
      figure: 'worker RSS peak / at end (MB)',
      value: `${show(r.worker_rss_mb.peak)} / ${show(r.worker_rss_mb.at_end)}`,
      goal: '< 1 GB (the goal names 2,000 × 50)',
      met: at(r.worker_rss_mb.peak, (v) => v < 1000),
    },
  ];
}

function mark(met: boolean | null): string {
  return met === null ? '–' : met ? '✓' : '✗';
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((cells) => `| ${cells.join(' | ')} |`)];
}

export function shapeTitle(r: ShapeResult): string {
  const state = r.status === 'ok' ? 'every phase ran' : r.status === 'first_refresh_incomplete' ? 'FIRST REFRESH INCOMPLETE' : `FAILED: ${r.errors.join('; ')}`;
  return `${r.shape} (${r.nodes} nodes, ${r.partitions} partitions, ${r.shard_copies} shard copies), interval ${r.interval_s} s: ${state}`;
}

export function shapeTable(r: ShapeResult): string {
  const c = r.cpu?.ms_per_node_refresh;
  const goals = shapeGoals(r).map((g) => [g.figure, g.value, g.goal, mark(g.met)]);
  const more = [
    ['first refresh: events expected (nodes × 3 + shard copies + 1)', show(r.expected_first_refresh?.total), '', ''],
    ['refresh duration p50 / p99 (ms, fleetview_refresh_duration)', r.later_refreshes ? `${show(r.later_refreshes.duration_p50_ms)} / ${show(r.later_refreshes.duration_p99_ms)}` : '–', '', ''],
    ['CPU ms per node-refresh: worker / Temporal / Kafka / store / sim', c ? [c.worker, c.temporal, c.kafka, c.store, c.sim].map(show).join(' / ') : '–', '', ''],
    [
      'idle floor, cores: worker / Temporal / Kafka / store (no cluster yet)',
      r.idle ? [r.idle.cores.worker, r.idle.cores.temporal, r.idle.cores.kafka, r.idle.cores.store].map(show).join(' / ') : '–',
      '',
      '',
    ],
    [
      'CPU ms per node-refresh above the idle floor: worker / Temporal / Kafka / store / all four',
      r.cpu?.above_idle_ms_per_node_refresh
        ? (() => {
            const a = r.cpu.above_idle_ms_per_node_refresh;
            return [a.worker, a.temporal, a.kafka, a.store, a.fleetview_total].map(show).join(' / ');
          })()
        : '–',
      '',
      '',
    ],
    ['CPU ms per node poll: bare poller (sim)', r.poller ? `${show(r.poller.cpu_ms_per_node_poll)} (${show(r.poller.sim_cpu_ms_per_node_poll)})` : '–', '', ''],
    [
      'history: runs / events / serialized / continued as new / workflow task failures',
      r.history.totals
        ? `${r.history.totals.runs} / ${r.history.totals.events} / ${bytes(r.history.totals.serialized_bytes)} / ${r.history.totals.continued_as_new} / ${r.history.totals.workflow_task_failures}`
        : (r.history.error ?? '–'),
      '',
      '',
    ],
    ['`fleetview view CLUSTER`: stdout, wall time (tsx start included)', r.view ? `${bytes(r.view.cli_stdout_bytes)}, ${show(r.view.cli_ms)} ms, exit ${show(r.view.cli_exit)}` : '–', '', ''],
  ];
  const notes = [
    r.first_refresh.diagnosis ? `first refresh: ${r.first_refresh.diagnosis.summary}` : null,
    r.later_refreshes?.note ? `window: ${r.later_refreshes.note}` : null,
    r.view?.cli_stderr_first_line ? `fleetview view said: ${r.view.cli_stderr_first_line}` : null,
    ...(r.blob_warnings ? [...r.blob_warnings.worker.first.map((l) => `worker log: ${l}`), ...r.blob_warnings.temporal.first.map((l) => `Temporal log: ${l}`)] : []),
    ...r.errors.map((e) => `error: ${e}`),
    ...r.notes.map((n) => `note: ${n}`),
    ...r.cleanup_problems.map((p) => `cleanup: ${p}`),
  ].filter((line): line is string => line !== null);
  return [`#### ${shapeTitle(r)}`, '', ...table(['figure', 'value', 'goal', 'met'], [...goals, ...more]), ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${n}`)] : [])].join('\n');
}

/** One line per shape: the run's overview. */
export function overviewTable(shapes: readonly ShapeResult[]): string {
  const rows = shapes.map((r) => {
    const goals = shapeGoals(r);
    const met = goals.filter((g) => g.met === true).length;
    const missed = goals.filter((g) => g.met === false).length;
    const q = r.history.quiet;
    return [
      r.shape,
      String(r.interval_s),
      r.first_refresh.completed ? `${show(r.first_refresh.all_events_on_topic_s)} s` : `never (${r.first_refresh.timeout_s} s)`,
      r.first_refresh.events ? `${r.first_refresh.events.distinct}/${r.first_refresh.events.expected}` : '–',
      show(r.later_refreshes?.done_ratio),
      show(q?.slot_lag_ms?.p99),
      show(r.detection?.node_down.max_s),
      show(r.detection?.primary_changed.max_s),
      q && q.quiet_refreshes > 0 ? `${show(q.events_per_quiet_refresh.max)} / ${bytes(q.serialized_bytes_per_quiet_refresh.max)}` : '–',
      bytes(r.history.totals?.largest_payload?.bytes),
      show(r.ratios.fleetview_total_vs_poller),
      show(r.worker_rss_mb.peak),
      bytes(r.view?.query_bytes),
      `${met} ✓ ${missed} ✗`,
    ];
  });
  return table(
    ['shape', 'interval s', 'first refresh', 'its events', 'done ÷ due', 'lag p99 ms', 'NODE_DOWN max s', 'PRIMARY_CHANGED max s', 'quiet refresh: events / bytes max', 'largest payload', 'CPU ÷ poller', 'worker RSS peak MB', 'view query', 'goals'],
    rows,
  ).join('\n');
}

function lagCell(lag: LagStats): string {
  return `p99 ${show(lag.p99)} (p50 ${show(lag.p50)}, max ${show(lag.max)}, ${lag.refreshes} refreshes)`;
}

export function mixedTable(m: MixedResult): string {
  const group = (name: string, g: MixedResult['small']): string[][] => [
    [`${name}: first refreshes complete (clusters)`, `${g.onboarded} of ${g.clusters}${g.onboarded_s === null ? '' : ` in ${g.onboarded_s} s`}`, 'all', mark(g.clusters === 0 ? null : g.onboarded === g.clusters)],
    [`${name}: done ÷ due`, g.done_ratio === null ? '–' : `${g.done_ratio} (${show(g.done)} of ${show(g.due)})`, '≥ 0.99', mark(at(g.done_ratio, (v) => v >= 0.99))],
    [
      `${name}: start lag p99 against the slot, from the history (ms)`,
      `${lagCell(g.slot_lag_ms)}, ${g.history_sampled} sampled clusters; after the timer fired ${lagCell(g.timer_lag_ms)}`,
      '< 1000',
      mark(at(g.slot_lag_ms.p99, (v) => v < 1000)),
    ],
  ];
  const c = m.cpu;
  const rows = [
    ...group(`small (${m.small.clusters} × ${m.small.nodes_per_cluster})`, m.small),
    ...group(`big (${m.big.clusters} × ${m.big.shape})`, m.big),
    ['all: fleetview_refreshes done ÷ due / fleetview_refresh_lag p99 ms', `${show(m.metric.done_ratio)} / ${show(m.metric.lag_p99_ms)}`, '', ''],
    ['cores: worker / Temporal / Kafka / store / sims', c ? [c.worker, c.temporal, c.kafka, c.store, c.sims].map((v) => show(v)).join(' / ') : '–', '', ''],
    ['worker RSS peak / at end (MB)', `${show(m.worker_rss_mb.peak)} / ${show(m.worker_rss_mb.at_end)}`, '', ''],
  ];
  const state = m.errors.length > 0 ? `FAILED: ${m.errors.join('; ')}` : 'every phase ran';
  const notes = [...m.errors.map((e) => `error: ${e}`), ...m.notes.map((n) => `note: ${n}`), ...m.cleanup_problems.map((p) => `cleanup: ${p}`)];
  return [
    `#### mixed: ${m.small.clusters} × ${m.small.nodes_per_cluster} small and ${m.big.clusters} × ${m.big.shape} big clusters, interval ${m.interval_s} s, window ${show(m.window_s)} s: ${state}`,
    '',
    ...table(['figure', 'value', 'goal', 'met'], rows.map((row) => row.map(String))),
    ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}
