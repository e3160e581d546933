/**
 * Child processes of the benchmark and what they cost. Every child runs in a process group of
 * its own (detached), for two reasons: its CPU and memory are summed over the group (`npx tsx`
 * is three processes, the worker the last of them), and stopping it ends the whole group, so no
 * grandchild outlives the benchmark. Costs come from /proc: utime+stime and RSS of every
 * process of the group.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ChildGroup {
  readonly name: string;
  /** Pid of the group leader, which is also the process group id. */
  readonly pgid: number;
  readonly child: ChildProcess;
  /** Whether the leader has exited. */
  exited(): boolean;
  /** Resolves with the leader's exit code or signal. */
  readonly exit: Promise<string>;
  /** The last lines the group wrote to stderr (and stdout, unless piped), for error messages. */
  tail(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once no process of the group is left. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Everything the group writes goes here too (kept after the run for post-mortems). */
  logFile: string;
  /** Keep stdout as a pipe for the caller (e.g. to read a `ready` line). */
  pipeStdout?: boolean;
}

const tailLines = 40;

/** Every process group the benchmark started, for the results (a test checks none is left). */
export const startedGroups: { name: string; pgid: number }[] = [];

export function spawnGroup(name: string, command: string, args: string[], options: SpawnOptions): ChildGroup {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pgid = child.pid;
  startedGroups.push({ name, pgid });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const recent: string[] = [];
  const keep = (line: string): void => {
    recent.push(line);
    if (recent.length > tailLines) recent.shift();
  };
  createInterface({ input: child.stderr }).on('line', (line) => {
    keep(line);
    log.write(`${line}\n`);
  });
  if (!options.pipeStdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      log.write(`${line}\n`);
    });
  }
  let done = false;
  const exit = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code === null ? String(signal) : `exit ${code}`);
    });
    child.once('error', (err) => {
      done = true;
      resolve(`error ${err.message}`);
    });
  });
  return {
    name,
    pgid,
    child,
    exit,
    exited: () => done,
    tail: () => recent.join('\n'),
    async stop(graceMs = 15_000) {
      signalGroup(pgid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupPids(pgid).length > 0 && Date.now() < deadline) await delay(100);
      if (groupPids(pgid).length > 0) signalGroup(pgid, 'SIGKILL');
      while (groupPids(pgid).length > 0 && Date.now() < deadline + 5000) await delay(100);
      await Promise.race([exit, delay(1000)]);
      log.end();
    },
  };
}

/** Resolves with the first stdout line matching `pattern`, or rejects when the group exits or the time is up. */
export async function waitForLine(group: ChildGroup, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const lines = createInterface({ input: group.child.stdout! });
  try {
    return await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${group.name}: no line matching ${pattern} within ${timeoutMs} ms\n${group.tail()}`)), timeoutMs);
      lines.on('line', (line) => {
        const match = pattern.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      });
      void group.exit.then((how) => {
        clearTimeout(timer);
        reject(new Error(`${group.name} ended (${how}) before printing a line matching ${pattern}\n${group.tail()}`));
      });
    });
  } finally {
    lines.close();
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- costs from /proc -------------------------------------------------------------------------

/** Clock ticks per second and page size, asked once: /proc counts in these units. */
const units = (() => {
  const ask = (name: string, fallback: number): number => {
    try {
      return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
    } catch {
      return fallback;
    }
  };
  return { ticksPerSecond: ask('CLK_TCK', 100), pageBytes: ask('PAGESIZE', 4096) };
})();

interface ProcessStat {
  pid: number;
  ppid: number;
  pgid: number;
  cpuTicks: number;
  /** CPU of its children that exited and were waited for (cutime + cstime). */
  reapedChildTicks: number;
  rssBytes: number;
}

function readStat(pid: number): ProcessStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (2nd field) may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21), in pages.
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    reapedChildTicks: Number(fields[13]) + Number(fields[14]),
    rssBytes: Number(fields[21]) * units.pageBytes,
  };
}

function allStats(): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The process group of a live process; null when it is gone. */
export function processGroupOf(pid: number): number | null {
  return readStat(pid)?.pgid ?? null;
}

export function groupPids(pgid: number): number[] {
  return allStats()
    .filter((stat) => stat.pgid === pgid)
    .map((stat) => stat.pid);
}

export interface GroupUsage {
  /** CPU seconds (user + system) of the group's live processes since they started. */
  cpuSeconds: number;
  /** RSS summed over the group. */
  rssBytes: number;
  /** RSS of the group's largest process (the worker itself, without the npx/tsx wrappers). */
  largestRssBytes: number;
  processes: number;
}

/** Usage of several groups from one pass over /proc; a group with no live process maps to null. */
export function groupsUsage(pgids: readonly number[]): Map<number, GroupUsage | null> {
  const stats = allStats();
  const usage = new Map<number, GroupUsage | null>();
  for (const pgid of pgids) {
    const members = stats.filter((stat) => stat.pgid === pgid);
    usage.set(
      pgid,
      members.length === 0
        ? null
        : {
            cpuSeconds: members.reduce((sum, m) => sum + m.cpuTicks, 0) / units.ticksPerSecond,
            rssBytes: members.reduce((sum, m) => sum + m.rssBytes, 0),
            largestRssBytes: Math.max(...members.map((m) => m.rssBytes)),
            processes: members.length,
          },
    );
  }
  return usage;
}

/** Proportional set size (shared pages divided among their sharers); null when unreadable. */
function pssBytes(pid: number): number | null {
  try {
    const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/**
 * Usage of the process tree under each root pid (the root and every descendant by parent pid),
 * for servers whose children leave the root's process group: PostgreSQL's backends each call
 * setsid. CPU also counts the children that exited and were waited for (the root's cutime and
 * cstime), so a backend that ends inside a window still counts, once. Memory is PSS summed
 * (shared buffers once, as scripts/services.sh status shows it; RSS where PSS cannot be read).
 * A root that is gone maps to null.
 */
export function treesUsage(roots: readonly number[]): Map<number, GroupUsage | null> {
  const stats = allStats();
  const children = new Map<number, ProcessStat[]>();
  for (const stat of stats) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const usage = new Map<number, GroupUsage | null>();
  for (const root of roots) {
    const top = stats.find((stat) => stat.pid === root);
    if (!top) {
      usage.set(root, null);
      continue;
    }
    const members: ProcessStat[] = [];
    for (let queue = [top]; queue.length > 0; ) {
      const next = queue.shift()!;
      members.push(next);
      queue.push(...(children.get(next.pid) ?? []));
    }
    usage.set(root, {
      cpuSeconds: (members.reduce((sum, m) => sum + m.cpuTicks, 0) + top.reapedChildTicks) / units.ticksPerSecond,
      rssBytes: members.reduce((sum, m) => sum + (pssBytes(m.pid) ?? m.rssBytes), 0),
      largestRssBytes: Math.max(...members.map((m) => m.rssBytes)),
      processes: members.length,
    });
  }
  return usage;
}
