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

/**
 * A process group's memory over a whole phase, not only at a window's end: the RSS of its
 * largest process (the worker itself, without npx/tsx wrappers) read every `everyMs`, the peak
 * and the last reading. The timer is unref'd: it never keeps the benchmark alive.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peakBytes: number | null = null;
  private lastBytes: number | null = null;

  constructor(
    private readonly pgid: number,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  /** Reads once more (unless the group is gone) and stops. */
  stop(): void {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Peak and last largest-process RSS in MB; null before any reading. */
  readings(): { peak_mb: number | null; last_mb: number | null } {
    const mb = (bytes: number | null): number | null => (bytes === null ? null : round(bytes / 2 ** 20, 1));
    return { peak_mb: mb(this.peakBytes), last_mb: mb(this.lastBytes) };
  }

  private sample(): void {
    const usage = groupsUsage([this.pgid]).get(this.pgid);
    if (!usage) return;
    this.lastBytes = usage.largestRssBytes;
    this.peakBytes = Math.max(this.peakBytes ?? 0, usage.largestRssBytes);
  }
}
