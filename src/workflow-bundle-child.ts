/**
 * The child process src/workflow-bundle.ts forks to bundle the workflow code: it receives the
 * bundle's options, runs the SDK's bundler (webpack and swc) and sends back the code, the bundler's
 * log lines on the way, then exits, taking what the bundler loaded and left on its heap with it.
 */
import { bundleWorkflowCode, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { BundleRequest, BundlerMessage } from './workflow-bundle.js';

function send(message: BundlerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));
}

const log =
  (level: LogLevel) =>
  (message: string, meta?: LogMetadata): void => {
    // A log line that cannot be sent is dropped; the bundle's own outcome is what matters.
    send({ kind: 'log', level, message, meta }).catch(() => undefined);
  };
const logger = { log: (level: LogLevel, message: string, meta?: LogMetadata) => log(level)(message, meta), trace: log('TRACE'), debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') };

process.once('message', (request: BundleRequest) => {
  bundleWorkflowCode({ workflowsPath: request.workflowsPath, preloadModules: request.preloadModules, logger })
    .then(({ code }) => send({ kind: 'bundle', code }))
    .catch((err: unknown) => send({ kind: 'failed', error: err instanceof Error ? err.message : String(err) }))
    // Sent (the callbacks ran): exit rather than wait for whatever the bundler left open.
    .finally(() => process.exit(0));
});
