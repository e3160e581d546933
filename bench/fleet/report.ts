/**
 * The results of one size and their table: fleetview's figures beside the two anchors, and
 * fleetview's as ratios to both. The table is Markdown, so it reads on a terminal and pastes
 * into docs/benchmarks.md as it is.
 */
import type { FleetviewNames, FleetviewResult, OnboardingCpu } from './fleetview-run.js';
import type { PollerResult } from './poller-anchor.js';
import type { PrometheusResult } from './prometheus-anchor.js';
import type { TemporalKind } from './services.js';
import { ratio, round } from './stats.js';
import { databaseText, type TemporalDatabase } from './temporal-profile.js';

export interface SizeResult {
  clusters: number;
  nodes_per_cluster: number;
  nodes: number;
  interval_s: number;
  /** Worker processes on the run's task queue (--workers). */
  worker_processes: number;
  /** The Temporal the run used (--temporal) and its database's size when the run started. */
  temporal: { profile: TemporalKind; database_at_start: TemporalDatabase };
  /** This run of the size (1-based) of `--repeat` runs in a row. */
  repeat: { run: number; of: number };
  names: FleetviewNames & { sim_id_prefix: string };
  /** ok: every phase ran and fleetview kept up; not_keeping_up: fleetview ran but did not; failed: a phase could not run. */
  status: 'ok' | 'not_keeping_up' | 'failed';
  fleetview: FleetviewResult | null;
  prometheus: PrometheusResult | null;
  poller: PollerResult | null;
  errors: string[];
  /** What the reader should know that is no error: e.g. the window's start rule fell back, no anchors ran. */
  notes: string[];
  ratios: Ratios;
  cleanup_problems: string[];
  /** With --worker-cpu-prof: the directory of this run's worker profiles and the files written there. */
  worker_cpu_profiles: { dir: string; files: string[] } | null;
  duration_s: number;
}

export interface Ratios {
  /** fleetview CPU per node-refresh ÷ the anchor's per scrape / per node poll. */
  worker_cpu_vs_prometheus: number | null;
  total_cpu_vs_prometheus: number | null;
  worker_cpu_vs_poller: number | null;
  total_cpu_vs_poller: number | null;
  /** fleetview NODE_DOWN latency ÷ Prometheus alert latency. */
  detection_p50_vs_prometheus: number | null;
  detection_max_vs_prometheus: number | null;
  onboarding_vs_prometheus_all_up: number | null;
}

export function ratios(fleetview: FleetviewResult | null, prometheus: PrometheusResult | null, poller: PollerResult | null): Ratios {
  const cpu = fleetview?.cpu_ms_per_node_refresh ?? null;
  const r = (a: number | null | undefined, b: number | null | undefined): number | null => round(ratio(a ?? null, b ?? null), 2);
  return {
    worker_cpu_vs_prometheus: r(cpu?.worker, prometheus?.cpu_ms_per_scrape),
    total_cpu_vs_prometheus: r(cpu?.fleetview_total, prometheus?.cpu_ms_per_scrape),
    worker_cpu_vs_poller: r(cpu?.worker, poller?.cpu_ms_per_node_poll),
    total_cpu_vs_poller: r(cpu?.fleetview_total, poller?.cpu_ms_per_node_poll),
    detection_p50_vs_prometheus: r(fleetview?.detection.datastore_down.p50_s, prometheus?.detection_datastore_down.p50_s),
    detection_max_vs_prometheus: r(fleetview?.detection.datastore_down.max_s, prometheus?.detection_datastore_down.max_s),
    onboarding_vs_prometheus_all_up: r(fleetview?.onboarding.seconds, prometheus?.all_targets_up_s),
  };
}

const dash = '–';

export function show(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : String(value);
}

function pair(a: number | null | undefined, b: number | null | undefined): string {
  return a === undefined && b === undefined ? dash : `${show(a)} / ${show(b)}`;
}

function detection(d: { p50_s: number | null; p99_s: number | null; max_s: number | null; missed: number; faults: number } | undefined): string {
  return d ? `${show(d.p50_s)} / ${show(d.p99_s)} / ${show(d.max_s)}, missed ${d.missed} of ${d.faults}` : dash;
}

function ratioCell(value: number | null): string {
  return value === null ? dash : `${value}×`;
}

function windowStart(start: FleetviewResult['window_start']): string {
  const fallback = start.rule === 'onboarding_fallback' ? ' (run not found: window after onboarding)' : '';
  return `${show(start.discovery_run_end_s)} / ${show(start.window_start_s)}${fallback}`;
}

export function sizeTitle(size: SizeResult): string {
  const state =
    size.status === 'ok' ? 'fleetview kept up' : size.status === 'not_keeping_up' ? 'fleetview did NOT keep up' : `FAILED: ${size.errors.join('; ')}`;
  const run = size.repeat.of > 1 ? `, run ${size.repeat.run} of ${size.repeat.of}` : '';
  // Results of older versions have neither: one worker on the dev server.
  const workers = size.worker_processes ?? 1;
  const on = size.temporal ? `, ${workers} worker${workers === 1 ? '' : 's'}, Temporal ${size.temporal.profile} (${databaseText(size.temporal.profile, size.temporal.database_at_start)} at the start)` : '';
  return `${size.clusters} clusters × ${size.nodes_per_cluster} nodes (${size.nodes} nodes), interval ${size.interval_s} s${on}${run}: ${state}`;
}

export function sizeTable(size: SizeResult): string {
  const f = size.fleetview;
  const p = size.prometheus;
  const b = size.poller;
  const x = size.ratios;
  const c = f?.costs;
  // PostgreSQL has lines of its own where it runs (the cluster profile); the dev server's tables stay as they were.
  const pg = size.temporal?.profile === 'cluster';
  const serviceGroups = pg ? (['temporal', 'postgres', 'kafka', 'store'] as const) : (['temporal', 'kafka', 'store'] as const);
  const services = serviceGroups.map((group) => serviceLabels[group]).join(' / ');
  const serviceCosts = (costs: NonNullable<typeof c>) => serviceGroups.map((group) => costs[group]);
  const perNode = f?.cpu_ms_per_node_refresh;
  const workers = f?.worker_count ?? size.worker_processes ?? 1;
  const worker = workers === 1 ? 'worker' : `workers (${workers}, summed)`;
  const rows: string[][] = [
    ['figure', 'fleetview', 'Prometheus', 'bare poller', 'fleetview ÷ Prometheus', 'fleetview ÷ poller'],
    ['onboarding / all targets up (s)', f ? (f.onboarding.completed ? show(f.onboarding.seconds) : `incomplete after ${f.onboarding.timeout_s}: ${f.onboarding.clusters_onboarded}/${size.clusters} clusters published, ${f.onboarding.refreshes_completed} refreshes saved`) : dash, show(p?.all_targets_up_s), dash, ratioCell(x.onboarding_vs_prometheus_all_up), dash],
    [
      `onboarding CPU s: ${worker} / ${services} / sim; all per cluster (ms)`,
      f?.onboarding.cpu ? `${onboardingCpuCells(f.onboarding.cpu, serviceGroups)}; ${show(f.onboarding.cpu.all_ms_per_cluster)}` : dash,
      dash,
      dash,
      dash,
      dash,
    ],
    ['discovery run ended / window started (s after the apply)', f ? windowStart(f.window_start) : dash, dash, dash, dash, dash],
    ['done ÷ due over the window', show(f?.refreshes.done_ratio), show(p?.scrapes_done_ratio), show(b?.polls_done_ratio), dash, dash],
    ['refresh lag p50 / p99 (ms)', pair(f?.refreshes.lag_p50_ms, f?.refreshes.lag_p99_ms), dash, dash, dash, dash],
    ['refresh duration p50 / p99 (ms)', pair(f?.refreshes.duration_p50_ms, f?.refreshes.duration_p99_ms), dash, dash, dash, dash],
    ['datastore down → NODE_DOWN / alert: p50 / p99 / max (s)', detection(f?.detection.datastore_down), detection(p?.detection_datastore_down), dash, `${ratioCell(x.detection_p50_vs_prometheus)} (p50)`, dash],
    ['agent down → AGENT_DOWN: p50 / p99 / max (s)', detection(f?.detection.agent_down), dash, dash, dash, dash],
    [`CPU ms per node-refresh / scrape / poll: ${worker}`, show(f?.cpu_ms_per_node_refresh.worker), show(p?.cpu_ms_per_scrape), show(b?.cpu_ms_per_node_poll), ratioCell(x.worker_cpu_vs_prometheus), ratioCell(x.worker_cpu_vs_poller)],
    [`CPU ms per node-refresh: ${worker} + ${services.replace(/ \/ /g, ' + ')}`, show(f?.cpu_ms_per_node_refresh.fleetview_total), show(p?.cpu_ms_per_scrape), show(b?.cpu_ms_per_node_poll), ratioCell(x.total_cpu_vs_prometheus), ratioCell(x.total_cpu_vs_poller)],
    [`CPU ms per node-refresh: ${services}`, perNode ? serviceGroups.map((group) => show(perNode[group])).join(' / ') : dash, dash, dash, dash, dash],
    ['sim CPU ms per node-refresh / scrape / poll', show(f?.cpu_ms_per_node_refresh.sim), show(p?.sim_cpu_ms_per_scrape), show(b?.sim_cpu_ms_per_node_poll), dash, dash],
    [`cores: ${worker} / ${services} / sim`, c ? [c.worker, ...serviceCosts(c), c.sim].map((cost) => show(cost.cores)).join(' / ') : dash, show(p?.prometheus.cores), show(b?.poller.cores), dash, dash],
    [`RSS MB: ${worker} / ${services} / sim`, c ? [c.worker, ...serviceCosts(c), c.sim].map((cost) => show(cost.rss_mb)).join(' / ') : dash, show(p?.prometheus.rss_mb), show(b?.poller.rss_mb), dash, dash],
    [workers === 1 ? 'worker RSS median over the window / peak (MB)' : `worker RSS median over the window / peak (MB): sums over the ${workers} workers`, f ? `${show(f.worker_rss_window_median_mb)} / ${show(f.worker_rss_peak_mb)}` : dash, dash, dash, dash, dash],
    ['history events / workflow tasks / activity tasks / markers per refresh', f ? [f.temporal.events_per_refresh, f.temporal.workflow_tasks_per_refresh, f.temporal.activity_tasks_per_refresh, f.temporal.local_activity_markers_per_refresh].map(show).join(' / ') : dash, dash, dash, dash, dash],
    ['store commands per refresh', show(f?.store.commands_per_refresh), dash, dash, dash, dash],
    ...(f?.persistence
      ? Object.entries(f.persistence).map(([db, w]): string[] => [`PostgreSQL ${db}: transactions / rows written per refresh (server-wide)`, `${show(w.transactions_per_refresh)} / ${show(w.rows_written_per_refresh)}`, dash, dash, dash, dash])
      : []),
    ['events published in the window (per refresh)', f ? `${f.events.in_window} (${show(f.events.per_refresh)})` : dash, dash, dash, dash, dash],
  ];
  const lines = markdownTable(rows);
  const perWorker = f && f.workers.length > 1 ? ['', ...workersTable(f)] : [];
  const notes = [
    f?.stall ? `fleetview stalled: ${f.stall.summary}` : null,
    ...size.errors.map((e) => `error: ${e}`),
    ...size.notes.map((n) => `note: ${n}`),
    ...size.cleanup_problems.map((p) => `cleanup: ${p}`),
  ].filter(Boolean);
  return [`#### ${sizeTitle(size)}`, '', ...lines, ...perWorker, ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${n!}`)] : [])].join('\n');
}

function markdownTable(rows: readonly string[][]): string[] {
  const lines = rows.map((cells) => `| ${cells.join(' | ')} |`);
  lines.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);
  return lines;
}

/** Each worker alone, under the size's table when there are several: how evenly they share the fleet, and what each costs. */
function workersTable(f: FleetviewResult): string[] {
  const rows = [
    ['worker', 'refreshes done (share)', 'CPU ms per own node-refresh', 'cores', 'RSS MB at the end / window median / peak', 'exited'],
    ...f.workers.map((w) => [
      String(w.worker),
      `${show(w.refreshes_done)} (${show(w.refreshes_share)})`,
      show(w.cpu_ms_per_node_refresh),
      show(w.cost.cores),
      `${show(w.cost.largest_process_rss_mb)} / ${show(w.rss_window_median_mb)} / ${show(w.rss_peak_mb)}`,
      w.exited ?? dash,
    ]),
    ['all', `${show(f.refreshes.done)} (1)`, show(f.cpu_ms_per_node_refresh.worker), show(f.costs.worker.cores), `${show(f.costs.worker.largest_process_rss_mb)} / ${show(f.worker_rss_window_median_mb)} / ${show(f.worker_rss_peak_mb)} (sums)`, dash],
  ];
  return markdownTable(rows);
}

/** How the tables name each service group. */
const serviceLabels = { temporal: 'Temporal', postgres: 'PostgreSQL', kafka: 'Kafka', store: 'store' } as const;

/** Older results files have no onboarding CPU; the caller shows a dash for them. */
function onboardingCpuCells(cpu: OnboardingCpu, serviceGroups: ReadonlyArray<keyof typeof serviceLabels>): string {
  return ['worker', ...serviceGroups, 'sim'].map((name) => show(cpu.cpu_s[name] ?? null)).join(' / ');
}
