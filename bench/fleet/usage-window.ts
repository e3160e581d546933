/**
 * CPU and memory of named process groups over a measuring window: CPU seconds used inside the
 * window (difference of two /proc readings) and RSS at its end. A name may stand for several
 * groups (the cluster profile's Temporal is five processes, its Kafka three brokers): their sum.
 * A name with a group that is not there (a server not started by scripts/services.sh, a process
 * that died) reports null, rather than the cost of only the groups left.
 */
import { groupsUsage, treesUsage, type GroupUsage } from './processes.js';
import { median, round } from './stats.js';

export interface ProcessCost {
  cpu_s: number | null;
  /** CPU seconds per second of window: 1.0 is one full core. */
  cores: number | null;
  rss_mb: number | null;
  /** RSS of the group's largest process (without npx/tsx wrappers). */
  largest_process_rss_mb: number | null;
}

/** One process group, several (summed), the process tree under a pid (processes.ts treesUsage), or none. */
export type Groups = number | readonly number[] | { tree: number } | null;

function groupList(groups: Groups): number[] {
  return groups === null || isTree(groups) ? [] : typeof groups === 'number' ? [groups] : [...groups];
}

function isTree(groups: Groups): groups is { tree: number } {
  return groups !== null && typeof groups === 'object' && 'tree' in groups;
}

/** The usage of every listed group summed; null when there is none or one of them is gone. Largest: the largest single process. */
function combined(pgids: readonly number[], usage: Map<number, GroupUsage | null>): GroupUsage | null {
  const each = pgids.map((pgid) => usage.get(pgid) ?? null);
  if (each.length === 0 || each.some((u) => u === null)) return null;
  const present = each as GroupUsage[];
  return {
    cpuSeconds: present.reduce((total, u) => total + u.cpuSeconds, 0),
    rssBytes: present.reduce((total, u) => total + u.rssBytes, 0),
    largestRssBytes: Math.max(...present.map((u) => u.largestRssBytes)),
    processes: present.reduce((total, u) => total + u.processes, 0),
  };
}

export class UsageWindow {
  private startMs = 0;
  private readonly before = new Map<string, GroupUsage | null>();

  constructor(private readonly groups: Readonly<Record<string, Groups>>) {}

  start(): void {
    this.startMs = Date.now();
    this.before.clear();
    for (const [name, usage] of this.read()) this.before.set(name, usage);
  }

  /** Costs per group name, and the window's length in seconds. */
  end(): { seconds: number; costs: Record<string, ProcessCost> } {
    const seconds = (Date.now() - this.startMs) / 1000;
    const now = this.read();
    const costs: Record<string, ProcessCost> = {};
    for (const name of Object.keys(this.groups)) {
      const before = this.before.get(name) ?? null;
      const after = now.get(name) ?? null;
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

  /** Every name's usage now: one pass over /proc for the groups, one more when there are trees. */
  private read(): Map<string, GroupUsage | null> {
    const entries = Object.entries(this.groups);
    const usage = groupsUsage(Object.values(this.groups).flatMap(groupList));
    const roots = entries.flatMap(([, groups]) => (isTree(groups) ? [groups.tree] : []));
    const trees = roots.length > 0 ? treesUsage(roots) : new Map<number, GroupUsage | null>();
    return new Map(entries.map(([name, groups]) => [name, isTree(groups) ? (trees.get(groups.tree) ?? null) : combined(groupList(groups), usage)]));
  }
}

/**
 * Process groups' memory over a whole phase, not only at a window's end: the RSS of each group's
 * largest process (the worker itself, without npx/tsx wrappers), read every `everyMs` in one pass
 * over /proc for all of them, every reading kept (a few thousand numbers): the peak, the last, the
 * median over a window, a coarser series. The timer is unref'd: it never keeps the benchmark alive.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedMs = Date.now();
  private readonly samples = new Map<number, { atMs: number; bytes: number }[]>();

  constructor(
    private readonly pgids: readonly number[],
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  /** Reads once more (for the groups still there) and stops. */
  stop(): void {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Peak and last largest-process RSS in MB of group `pgid` (default: the first); null before any reading. */
  readings(pgid: number | undefined = this.pgids[0]): { peak_mb: number | null; last_mb: number | null } {
    const bytes = (pgid === undefined ? undefined : this.samples.get(pgid))?.map((reading) => reading.bytes) ?? [];
    return { peak_mb: megabytes(bytes.length === 0 ? undefined : Math.max(...bytes)), last_mb: megabytes(bytes.at(-1)) };
  }

  /** The median of group `pgid`'s readings from `fromMs` to `toMs`, in MB; null without any. */
  medianBetween(pgid: number, fromMs: number, toMs: number): number | null {
    const inWindow = (this.samples.get(pgid) ?? []).filter((reading) => reading.atMs >= fromMs && reading.atMs <= toMs).map((reading) => reading.bytes);
    return megabytes(median(inWindow) ?? undefined);
  }

  /** Group `pgid`'s RSS in MB every `everyS` seconds from the sampler's start (the first reading at or after each mark). */
  series(pgid: number, everyS: number): number[] {
    const marks: number[] = [];
    let lastSlot = -1;
    for (const reading of this.samples.get(pgid) ?? []) {
      const slot = Math.floor((reading.atMs - this.startedMs) / (everyS * 1000));
      if (slot === lastSlot) continue;
      marks.push(megabytes(reading.bytes)!);
      lastSlot = slot;
    }
    return marks;
  }

  private sample(): void {
    const atMs = Date.now();
    for (const [pgid, usage] of groupsUsage(this.pgids)) {
      if (!usage) continue;
      const readings = this.samples.get(pgid) ?? [];
      readings.push({ atMs, bytes: usage.largestRssBytes });
      this.samples.set(pgid, readings);
    }
  }
}

function megabytes(bytes: number | undefined): number | null {
  return bytes === undefined ? null : round(bytes / 2 ** 20, 1);
}
