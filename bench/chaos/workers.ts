/**
 * The chaos run's worker processes: `node --import tsx src/worker.ts` as `npm start` runs it, each in its own
 * process group (bench/fleet/processes.ts), so a SIGKILL takes it and anything it started down at once,
 * as a crash or an OOM kill would.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { freePort } from '../fleet/ports.js';
import { delay, groupPids, spawnGroup, type ChildGroup } from '../fleet/processes.js';
import { workerCommand } from '../fleet/workers.js';

export interface ChaosWorker {
  name: string;
  group: ChildGroup;
  metricsPort: number;
  startedMs: number;
  /** When it first polled its task queue (null: not yet). */
  readyMs: number | null;
}

export class Workers {
  private readonly all: ChaosWorker[] = [];
  private count = 0;

  constructor(
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly client: Client,
    private readonly namespace: string,
    private readonly taskQueue: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The workers that have not exited. */
  alive(): ChaosWorker[] {
    return this.all.filter((worker) => !worker.group.exited());
  }

  /** Starts a worker; with `wait`, resolves once it polls the task queue. */
  async start(wait = true): Promise<ChaosWorker> {
    const name = `worker-${++this.count}`;
    const metricsPort = await freePort();
    const { command, args } = workerCommand(null);
    const group = spawnGroup(name, command, args, {
      cwd: this.root,
      env: { ...this.env, FLEETVIEW_METRICS_PORT: String(metricsPort) },
      logFile: join(this.logDir, `${name}.log`),
    });
    const worker: ChaosWorker = { name, group, metricsPort, startedMs: Date.now(), readyMs: null };
    this.all.push(worker);
    this.log(`${name} started (process group ${group.pgid})`);
    if (wait) await this.waitReady(worker, 180_000);
    return worker;
  }

  /**
   * Until a poller of this process is on the task queue. The server lists pollers it saw in the
   * last minutes, a killed worker's too, so the check names this worker's own pids.
   */
  async waitReady(worker: ChaosWorker, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (worker.readyMs === null) {
      if (worker.group.exited()) throw new Error(`${worker.name} exited while starting:\n${worker.group.tail()}`);
      const pids = new Set(groupPids(worker.group.pgid).map(String));
      try {
        const queue = await this.client.workflowService.describeTaskQueue({ namespace: this.namespace, taskQueue: { name: this.taskQueue } });
        if ((queue.pollers ?? []).some((poller) => pids.has(String(poller.identity ?? '').split('@')[0] ?? ''))) {
          worker.readyMs = Date.now();
          this.log(`${worker.name} polls the task queue (${((worker.readyMs - worker.startedMs) / 1000).toFixed(1)} s after its start)`);
          return;
        }
      } catch {
        // Temporal not answering yet: keep waiting.
      }
      if (Date.now() > deadline) throw new Error(`${worker.name} did not poll its task queue within ${timeoutMs / 1000} s:\n${worker.group.tail()}`);
      await delay(250);
    }
  }

  /** SIGKILL to the worker's whole process group; resolves once its leader has exited. */
  async kill(worker: ChaosWorker): Promise<void> {
    try {
      process.kill(-worker.group.pgid, 'SIGKILL');
    } catch {
      // gone already
    }
    await Promise.race([worker.group.exit, delay(10_000)]);
    this.log(`${worker.name} SIGKILLed`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.alive().map((worker) => worker.group.stop(20_000)));
  }
}
