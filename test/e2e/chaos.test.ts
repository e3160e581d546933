// test-runner: alone (its own services, workers and a sim beside the shared ones: it needs the cores)
// The short chaos run, as a user runs it (`npm run chaos`), at 10 clusters × 3 nodes with a 3 s
// interval and a subset of the faults: the worker SIGKILLed and started again, Kafka stopped,
// the store frozen, agent faults (hang, reset, 500, not JSON, 10 MiB), the discovery endpoint
// failing for three runs. The oracle must find nothing: no transition lost or invented, no id
// reused for other content, nothing out of order, no cluster retired; and the run must leave
// nothing behind (its own services, sim and workers). The full run (100 × 3, every fault) is
// `npm run chaos`, with its results in bench/results/chaos.json.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChaosResults } from '../../bench/chaos/run.js';
import { groupPids } from '../../bench/fleet/processes.js';
import { cleanupBound } from '../helpers/bounded.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fleetview-chaos-test-'));
const out = join(dir, 'chaos.json');

after(() => rmSync(dir, { recursive: true, force: true }), cleanupBound);

/** Command lines of every process now. */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')];
      } catch {
        return [];
      }
    });
}

it('a short chaos run: nothing lost, invented, reused or retired, and nothing left behind', async () => {
  const faults = ['worker-kill', 'kafka-stop', 'store-freeze', 'agent-faults', 'discovery-fail'];
  const args = ['run', 'chaos', '--', '--clusters', '10', '--nodes', '3', '--interval', '3', '--faults', faults.join(','), '--discovery-interval', '4'];
  args.push('--baseline', '3', '--settle', '3', '--kafka-outage', '15', '--store-freeze', '12', '--agent-fault-hold', '3', '--out', out);
  const chaos = spawn('npm', args, { cwd: root, detached: true });
  let stdout = '';
  let stderr = '';
  chaos.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  chaos.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A run over time gets SIGINT as from Ctrl-C, and cleans up.
  const timer = setTimeout(() => process.kill(-chaos.pid!, 'SIGINT'), 420_000);
  const code = await new Promise<number | null>((resolve) => chaos.on('close', resolve));
  clearTimeout(timer);
  const context = `${stdout.slice(-4000)}\n${stderr.slice(-4000)}`;
  assert.ok(existsSync(out), `no results were written:\n${context}`);
  const results = JSON.parse(readFileSync(out, 'utf8')) as ChaosResults;
  const findings = JSON.stringify({ totals: results.totals, examples: results.examples, stuck: results.stuck, mismatches: results.final_state_mismatches, errors: results.errors }, null, 1);

  assert.match(stdout, /^\| fault \| fault \(s\) \| recovery/m, 'the table is printed');
  assert.deepEqual(
    results.rows.map((row) => row.name),
    ['onboarding', 'baseline', ...faults],
  );
  for (const row of results.rows.slice(2)) assert.equal(typeof row.recovery?.all_refreshed_s, 'number', `${row.name}: every cluster refreshed after the fault\n${findings}`);
  const agentFaults = results.rows.find((row) => row.name === 'agent-faults')!.details as { by_mode: Record<string, number>; status_and_reason: Record<string, { status: string }[]> };
  assert.deepEqual(Object.keys(agentFaults.by_mode).sort(), ['error', 'garbage', 'hang', 'oversize', 'reset']);
  for (const [mode, seen] of Object.entries(agentFaults.status_and_reason)) assert.ok(seen.every((s) => s.status === 'AGENT_DOWN'), `${mode}: ${JSON.stringify(seen)}`);
  assert.ok((results.rows.find((row) => row.name === 'discovery-fail')!.details as { failed_runs: number }).failed_runs >= 3);
  assert.ok(results.totals.changes > 100, `only ${results.totals.changes} changes were scripted`);

  const { totals } = results;
  assert.equal(totals.lost, 0, `lost transitions\n${findings}`);
  assert.equal(totals.invented, 0, `invented transitions\n${findings}`);
  assert.equal(totals.reused_ids, 0, `event ids reused for other content\n${findings}`);
  assert.equal(totals.retired, 0, `clusters retired\n${findings}`);
  assert.equal(totals.out_of_order + totals.id_order_violations + totals.id_gaps, 0, `events out of order\n${findings}`);
  assert.equal(totals.clusters_stuck, 0, findings);
  assert.equal(totals.final_state_mismatches, 0, findings);
  assert.equal(totals.cluster_workflows_running_at_end, 10, findings);
  assert.equal(code, 0, `npm run chaos exited ${code}:\n${context}`);

  // Nothing left: the sim's and workers' process groups, the services and their folder.
  for (const group of results.process_groups_started) assert.deepEqual(groupPids(group.pgid), [], `${group.name} (process group ${group.pgid}) still runs`);
  assert.ok(!existsSync(results.services_dir), `${results.services_dir} is still there`);
  assert.deepEqual(
    commandLines().filter((line) => line.includes(results.services_dir)),
    [],
    'a service of the run still runs',
  );
});
