/**
 * CPU and memory of named process groups over a measuring window: CPU seconds used inside the
 * window (difference of two /proc readings) and RSS at its end. A group that is not there
 * (a server not started by scripts/services.sh, a process that died) reports null.
 */
import { groupsUsage, type GroupUsage } from './processes.js';
import { round } from './stats.js';

export interface ProcessCost {
  cpu_s: number | null;
  /** CPU seconds per second of window: 1.0 is one full core. */
  cores: number | null;
  rss_mb: number | null;
  /** RSS of the group's largest process (without npx/tsx wrappers). */
  largest_process_rss_mb: number | null;
}

export class UsageWindow {
  private startMs = 0;
  private readonly before = new Map<string, GroupUsage | null>();

  constructor(private readonly groups: Readonly<Record<string, number | null>>) {}

  start(): void {
    this.startMs = Date.now();
    const usage = groupsUsage(this.pgids());
    for (const [name, pgid] of Object.entries(this.groups)) this.before.set(name, pgid === null ? null : (usage.get(pgid) ?? null));
  }

  /** Costs per group name, and the window's length in seconds. */
  end(): { seconds: number; costs: Record<string, ProcessCost> } {
    const seconds = (Date.now() - this.startMs) / 1000;
    const usage = groupsUsage(this.pgids());
    const costs: Record<string, ProcessCost> = {};
    for (const [name, pgid] of Object.entries(this.groups)) {
      const before = this.before.get(name) ?? null;
      const after = pgid === null ? null : (usage.get(pgid) ?? null);
      const cpu = before && after ? Math.max(0, after.cpuSeconds - before.cpuSeconds) : null;
      costs[name] = {
        cpu_s: round(cpu, 3),
        cores: round(cpu === null ? null : cpu / seconds, 3),
        rss_mb: round(after ? after.rssBytes / 2 ** 20 : null, 1),
        largest_process_rss_mb: round(after ? after.largestRssBytes / 2 ** 20 : null, 1),
      };
    }
    return { seconds, costs };
  }

  private pgids(): number[] {
    return Object.values(this.groups).filter((pgid): pgid is number => pgid !== null);
  }
}
