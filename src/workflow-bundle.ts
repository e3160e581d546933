/**
 * The workflow bundle, built in a child process (src/workflow-bundle-child.ts) instead of the
 * worker's main thread: the SDK's bundler loads webpack and swc, and what they leave behind stays
 * in the worker for its whole life, ~90 MB of RSS of an idle worker (263 against 169 MB with a
 * 2.16 MB bundle; docs/scaling.md#the-workflow-bundle-built-in-a-child-process). A child takes them
 * away when it exits. Bundled at every start from the source the worker runs, as the SDK's
 * `workflowsPath` does, so a bundle is never stale; once per process (a test that starts many
 * workers bundles once).
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LogLevel, LogMetadata } from '@temporalio/worker';
import type { Logger } from './adapters/logger.js';

export interface BundleRequest {
  workflowsPath: string;
  preloadModules: string[];
}

export type BundlerMessage =
  | { kind: 'log'; level: LogLevel; message: string; meta: LogMetadata | undefined }
  | { kind: 'bundle'; code: string }
  | { kind: 'failed'; error: string };

/** The bundler child's own stderr kept for an error (Node's, before it could report through IPC). */
const stderrTailChars = 4_000;

const bundles = new Map<string, Promise<string>>();

/** The workflow bundle's code for `request`, built once per process; fails after `timeoutMs`. */
export function workflowBundleCode(request: BundleRequest, logger: Logger, timeoutMs: number): Promise<string> {
  const key = JSON.stringify(request);
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleInChild(request, logger, timeoutMs);
    // A failed bundle is not kept: the next worker start tries again.
    bundle.catch(() => bundles.delete(key));
    bundles.set(key, bundle);
  }
  return bundle;
}

/** A module of src/ by its path without extension (from src/): the TypeScript source under tsx, else the compiled file. */
export function sourceOrCompiled(pathFromSrc: string): string {
  const source = fileURLToPath(new URL(`./${pathFromSrc}.ts`, import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL(`./${pathFromSrc}.js`, import.meta.url));
}

function childEntry(): { path: string; execArgv: string[] } {
  const path = sourceOrCompiled('workflow-bundle-child');
  // Under tsx the child needs tsx too, resolved from here rather than from the process's cwd.
  return { path, execArgv: path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [] };
}

function bundleInChild(request: BundleRequest, logger: Logger, timeoutMs: number): Promise<string> {
  const entry = childEntry();
  return new Promise((resolve, reject) => {
    // Not the worker's own Node flags (a CPU profile, an inspector port): the child's are its own.
    const child = fork(entry.path, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-stderrTailChars);
    });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`bundling the workflow code took longer than ${timeoutMs} ms (${request.workflowsPath})`)));
    }, timeoutMs);
    child.on('message', (message: BundlerMessage) => {
      if (message.kind === 'log') forwardLog(logger, message);
      else if (message.kind === 'bundle') settle(() => resolve(message.code));
      else settle(() => reject(new Error(`bundling the workflow code failed (${request.workflowsPath}): ${message.error}`)));
    });
    child.on('error', (err) => settle(() => reject(new Error(`the workflow bundler process could not run: ${err.message}`))));
    // 'close', not 'exit': it comes after the IPC channel has delivered what the child sent.
    child.on('close', (code, signal) =>
      settle(() => reject(new Error(`the workflow bundler process exited (${signal ?? `code ${code}`}) without a bundle${stderr ? `: ${stderr.trim()}` : ''}`))),
    );
    child.send(request);
  });
}

/** The bundler's log lines in the worker's log: webpack's report at debug, its warnings as warnings. */
function forwardLog(logger: Logger, message: Extract<BundlerMessage, { kind: 'log' }>): void {
  const attrs = { source: 'workflow bundler', ...(message.meta ?? {}) };
  if (message.level === 'WARN') logger.warn(message.message, attrs);
  else if (message.level === 'ERROR') logger.error(message.message, attrs);
  else logger.debug(message.message, attrs);
}
