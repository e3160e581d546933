/**
 * The fleetview worker processes of a run (`--workers N`): N workers on the run's task queue, each
 * as `npm start` runs it, each in a process group of its own (its CPU and RSS its own), with its
 * own metrics port and log and, with --worker-cpu-prof, its own profile folder. They start and
 * stop together: one cleanup step stops them all at once, so N workers take one stop grace, not N.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../../src/config.js';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { delay, spawnGroup, type ChildGroup } from './processes.js';
import { workerLauncher } from '../../src/worker-node-flags.js';

export interface WorkerProcess {
  /** 1-based. */
  index: number;
  group: ChildGroup;
  metricsPort: number;
  logFile: string;
  /** With --worker-cpu-prof: where this worker writes its profile. */
  profileDir: string | null;
}

export interface WorkersOptions {
  cleanup: Cleanup;
  root: string;
  logDir: string;
  /** The run's environment: names, settings, the services of the Temporal profile. */
  env: NodeJS.ProcessEnv;
  count: number;
  /** With --worker-cpu-prof: the run's profile folder (exists); with several workers, one sub-folder each. */
  profileDir: string | null;
  log: (line: string) => void;
  /** After every worker has stopped (the run's workflows still running are terminated there). */
  afterStop?: () => Promise<void>;
}

/**
 * The worker's command: `sh scripts/start-worker.sh`, as `npm start` runs it (it execs `node FLAGS
 * --import tsx src/worker.ts`, on jemalloc when the machine has it; not the `tsx` command, which
 * relays SIGTERM to its child and SIGKILLs it unless it acknowledges within about 60 ms, which a
 * busy worker does not: no graceful drain, no CPU profile). With a profile, Node's --cpu-prof
 * passed through it (Node 20 refuses it in NODE_OPTIONS).
 */
export function workerCommand(profileDir: string | null): { command: string; args: string[]; text: string } {
  const args = [workerLauncher, ...(profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])];
  return { command: 'sh', args, text: `sh ${args.join(' ')}` };
}

/** `count` distinct free ports (the OS may hand one back twice in a row); bounded tries. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count && tries < count * 20; tries++) ports.add(await freePort());
  if (ports.size < count) throw new Error(`could not find ${count} distinct free ports for the workers' metrics`);
  return [...ports];
}

/**
 * Starts the workers. Their stop is registered before the first is spawned, so a failure halfway
 * (or SIGINT) stops those already running. One worker keeps the names of old (group `worker`,
 * `worker.log`); several are `worker-1`, `worker-1.log`, ...
 */
export async function startWorkers(options: WorkersOptions): Promise<WorkerProcess[]> {
  const { cleanup, count, profileDir, log } = options;
  const ports = await freePorts(count);
  const workers: WorkerProcess[] = [];
  cleanup.add(count === 1 ? 'stopping the worker' : `stopping the ${count} workers`, async () => {
    // SIGTERM drains each worker (up to its 10 s shutdown grace), closes its clients, and only
    // then does Node write a CPU profile, which takes seconds for a long run of a big fleet.
    await stopWorkers(workers, profileDir === null ? 20_000 : 30_000);
    await options.afterStop?.();
  });
  for (let index = 1; index <= count; index++) {
    const name = count === 1 ? 'worker' : `worker-${index}`;
    const ownProfileDir = profileDir === null ? null : count === 1 ? profileDir : join(profileDir, name);
    if (ownProfileDir !== null) mkdirSync(ownProfileDir, { recursive: true });
    const command = workerCommand(ownProfileDir);
    const metricsPort = ports[index - 1]!;
    const logFile = join(options.logDir, `${name}.log`);
    log(`${name}: ${command.text}, metrics on :${metricsPort}`);
    const group = spawnGroup(name, command.command, command.args, {
      cwd: options.root,
      env: { ...options.env, FLEETVIEW_METRICS_PORT: String(metricsPort) },
      logFile,
    });
    workers.push({ index, group, metricsPort, logFile, profileDir: ownProfileDir });
  }
  return workers;
}

/** Stops every worker at once, each with `graceMs` from SIGTERM before SIGKILL. */
export async function stopWorkers(workers: readonly WorkerProcess[], graceMs: number): Promise<void> {
  await Promise.all(workers.map((worker) => worker.group.stop(graceMs)));
}

/** Until every worker serves metrics and the task queue has a poller per worker (bundling the workflows takes seconds). */
export async function waitForWorkers(client: Client, config: Config, workers: readonly WorkerProcess[]): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const gone = workers.find((worker) => worker.group.exited());
    if (gone) throw new Error(`${gone.group.name} exited while starting:\n${gone.group.tail()}`);
    const metricsUp = await Promise.all(
      workers.map((worker) =>
        fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) }).then(
          (response) => response.ok,
          () => false,
        ),
      ),
    );
    if (metricsUp.every(Boolean)) {
      const queue = await client.withDeadline(Date.now() + 10_000, () =>
        client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: config.temporal.taskQueue } }),
      );
      // The run's task queue is its own: every poller is one of its workers.
      if ((queue.pollers ?? []).length >= workers.length) return;
    }
    if (Date.now() > deadline) {
      const waiting = workers.filter((_, i) => !metricsUp[i]).map((worker) => worker.group.name);
      throw new Error(
        `the workers did not all poll their task queue within 180 s${waiting.length > 0 ? ` (no metrics yet: ${waiting.join(', ')})` : ''}:\n${workers.map((worker) => worker.group.tail()).join('\n')}`,
      );
    }
    await delay(250);
  }
}

/** Whether any worker still runs (the others carry on when one dies). */
export function anyWorkerAlive(workers: readonly WorkerProcess[]): boolean {
  return workers.some((worker) => !worker.group.exited());
}

