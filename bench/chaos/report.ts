/** The chaos run's table: one row per phase, then the totals. */
import type { ChaosResults } from './run.js';

const cell = (value: number | string | null | undefined): string => (value === null || value === undefined ? '–' : String(value));

export function chaosTable(results: ChaosResults): string {
  const lines = [
    '| fault | fault (s) | recovery: every cluster refreshed (s) | changes during fault + recovery | detection p50 / max (s) | lost | invented | duplicates by id | reused ids | out of order | retired |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of results.rows) {
    const recovery = row.recovery === null ? '–' : row.recovery.all_refreshed_s === null ? `not all (${row.recovery.not_refreshed.length} left)` : `${row.recovery.all_refreshed_s}`;
    lines.push(
      `| ${row.label} | ${cell(row.fault_duration_s)} | ${recovery} | ${row.recovery ? row.scripted_during_fault : cell(row.changes)} | ${cell(row.detection_p50_s)} / ${cell(row.detection_max_s)} | ${row.lost} | ${row.invented} | ${row.duplicates_by_id} | ${row.reused_ids} | ${row.out_of_order} | ${row.retired} |`,
    );
  }
  const t = results.totals;
  lines.push(`| **total** (${t.changes} changes, ${t.expected_keys} expected events, ${t.messages} messages) | | | | | **${t.lost}** | **${t.invented}** | ${t.duplicates_by_id} | **${t.reused_ids}** | ${t.out_of_order} | **${t.retired}** |`);
  const notes = [
    `id order violations ${t.id_order_violations}, id gaps ${t.id_gaps}, clusters stuck ${t.clusters_stuck}, final views differing from the model ${t.final_state_mismatches}, cluster workflows running at the end ${cell(t.cluster_workflows_running_at_end)} of ${results.settings.clusters}`,
    `${results.settings.clusters} clusters × ${results.settings.nodes} nodes, refresh interval ${results.settings.intervalS} s, load average at start ${results.machine.load_average_at_start.join(' / ')}, at end ${results.machine.load_average_at_end.join(' / ')}; ${results.ok ? 'OK' : 'NOT OK'}${results.errors.length ? `: ${results.errors.join('; ')}` : ''}`,
  ];
  return `${lines.join('\n')}\n\n${notes.join('\n')}\n`;
}
