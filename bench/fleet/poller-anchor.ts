/**
 * The bare-poller anchor: bench/fleet/bare-poller.mjs in its own process on the same sim and
 * interval, warmed up for one interval, then measured over the window. Node polls are counted by
 * the sim (three Agent API calls each), so the count does not depend on the poller reporting it.
 */
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { delay, spawnGroup, waitForLine } from './processes.js';
import type { SimProcess } from './sim-process.js';
import { ratio, round } from './stats.js';
import { UsageWindow, type ProcessCost } from './usage-window.js';

export interface PollerResult {
  window_s: number;
  node_polls: number;
  /** Node polls done ÷ due over the window. */
  polls_done_ratio: number | null;
  cpu_ms_per_node_poll: number | null;
  sim_cpu_ms_per_node_poll: number | null;
  poller: ProcessCost;
  sim: ProcessCost;
}

const callsPerNodePoll = 3;

export async function runPollerAnchor(cleanup: Cleanup, root: string, logDir: string, sim: SimProcess, intervalS: number, measureS: number): Promise<PollerResult> {
  const mark = cleanup.mark();
  const group = spawnGroup('bare poller', process.execPath, [join(root, 'bench', 'fleet', 'bare-poller.mjs'), sim.url, String(intervalS)], {
    cwd: root,
    logFile: join(logDir, 'poller.log'),
    pipeStdout: true,
  });
  cleanup.add('stopping the bare poller', () => group.stop(5000));
  try {
    await waitForLine(group, /^poller ready \d+$/, 30_000);
    // One interval of warm-up: every node's timer has fired once and its connections are open.
    await delay(intervalS * 1000);
    const usage = new UsageWindow({ poller: group.pgid, sim: sim.group.pgid });
    const requestsBefore = await sim.nodeRequests();
    usage.start();
    await delay(measureS * 1000);
    const { seconds, costs } = usage.end();
    const nodePolls = (await sim.nodeRequests()) - requestsBefore;
    const polls = nodePolls / callsPerNodePoll;
    const due = (sim.nodes.length * seconds) / intervalS;
    return {
      window_s: round(seconds, 1)!,
      node_polls: Math.round(polls),
      polls_done_ratio: round(ratio(polls, due), 3),
      cpu_ms_per_node_poll: round(ratio(costs.poller!.cpu_s, polls / 1000), 3),
      sim_cpu_ms_per_node_poll: round(ratio(costs.sim!.cpu_s, polls / 1000), 3),
      poller: costs.poller!,
      sim: costs.sim!,
    };
  } finally {
    await cleanup.undoTo(mark);
  }
}
