/** The operator CLI spawned as a process (bin/fleetview.mjs), as operators and scripts run it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const fleetviewBin = fileURLToPath(new URL('../../bin/fleetview.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fleetview ...args` with exactly `env`; killed after `timeoutMs`. */
export function runFleetview(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fleetviewBin, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `fleetview ARGS` with exactly this environment plus PATH and HOME (no FLEETVIEW_* of the test's own). */
export function runCliProcess(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return runFleetview(args, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeoutMs);
}

export function expectExit(result: CliResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}
