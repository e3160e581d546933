/** A fleetview worker for a test: in the test's process, or as a child process a test may SIGKILL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createLogger } from '../../src/adapters/logger.js';
import type { Config } from '../../src/config.js';
import { createFleetviewWorker, type RunningWorker } from '../../src/worker.js';
import { configEnv } from './test-config.js';
import { workerLauncher } from '../../src/worker-node-flags.js';

export interface TestWorker {
  stop(): Promise<void>;
}

export async function startTestWorker(config: Config): Promise<TestWorker> {
  const running: RunningWorker = await createFleetviewWorker(config, createLogger(config.worker.logLevel, { test: true }));
  const done = running.run();
  return {
    async stop() {
      running.shutdown();
      await done;
    },
  };
}

/** The worker as `npm start` runs it (its pid is the worker's), on `config`; should it exit with an error, the tail of its stderr is printed. */
export function spawnWorkerProcess(config: Config, extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn('sh', [workerLauncher], { env: { ...process.env, ...configEnv(config), ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`worker exited ${code}: ${stderr}\n`);
  });
  return child;
}
