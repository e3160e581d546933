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
    `${results.settings.temporal === 'cluster' ? 'on the cluster profile, ' : ''}${results.settings.clusters} clusters × ${results.settings.nodes} nodes, refresh interval ${results.settings.intervalS} s, load average at start ${results.machine.load_average_at_start.join(' / ')}, at end ${results.machine.load_average_at_end.join(' / ')}; ${results.ok ? 'OK' : 'NOT OK'}${results.errors.length ? `: ${results.errors.join('; ')}` : ''}`,
  ];
  for (const row of results.rows) {
    if (row.recovery_after_kill === undefined || row.recovery_after_kill === null) continue;
    const d = row.details;
    notes.push(
      `${row.name}: ${String(d.killed)} SIGKILLed, started again after ${cell(d.down_s as number)} s (ready ${cell(d.restart_to_ready_s as number)} s later); every cluster refreshed ${cell(row.recovery_after_kill.all_refreshed_s)} s after the kill (median ${cell(row.recovery_after_kill.p50_s)} s${d.refreshed_again_before_the_restart === true ? ', before the restart' : ''}), ${cell(row.recovery?.all_refreshed_s)} s after the restart`,
    );
  }
  if (results.settings.temporal === 'cluster') {
    notes.push(results.recovery_goal_misses.length === 0 ? `recovery goal ${results.settings.recoveryGoalS} s (history and broker kills, from the kill and from the restart): met` : `recovery goal ${results.settings.recoveryGoalS} s missed: ${results.recovery_goal_misses.join('; ')}`);
  }
  return `${lines.join('\n')}\n\n${notes.join('\n')}\n`;
}
