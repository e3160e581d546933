/**
 * The Temporal worker (1.24) runs every call into a workflow's V8 context with Node's
 * `vm` timeout (`isolateExecutionTimeout`, 5 s, not an exposed option), so a workflow stuck in a
 * loop fails its task instead of holding the workflow thread. Node enforces each such timeout
 * with a watchdog thread created and joined per call (nodejs/node#47739, open): 42 µs of CPU per
 * call here against 1 µs without, and a workflow activation makes several calls. In a profile of
 * the worker at 1,000 × 3 it was 41% of the workflow thread's busy time.
 *
 * fleetview's workflows are its own code, bounded loops over what a refresh holds; a large
 * cluster's aggregate can itself take seconds. So the watchdog is off unless
 * `FLEETVIEW_WORKER_WORKFLOW_WATCHDOG_MS` sets one: the bound reaches the workflow threads through
 * the message that starts them (the only place it travels), which this module rewrites at load.
 */
import { createRequire } from 'node:module';
import type { Logger } from './logger.js';

const require = createRequire(import.meta.url);

interface ThreadedCreatorOptions {
  isolateExecutionTimeoutMs?: number;
}
type CreatorClass = { create(options: ThreadedCreatorOptions): Promise<unknown> };

/** The SDK versions whose internals this was read against. */
const knownVersions = /^1\.24\./;

let original: CreatorClass['create'] | null = null;

/**
 * Sets the bound of each call into a workflow context for the workers this process creates from
 * now on: null for none. Returns false (and logs why) when the SDK is not one this knows.
 */
export function setWorkflowWatchdog(timeoutMs: number | null, logger: Logger): boolean {
  const version = (require('@temporalio/worker/package.json') as { version: string }).version;
  let creator: CreatorClass | undefined;
  try {
    creator = (require('@temporalio/worker/lib/workflow/threaded-vm.js') as { ThreadedVMWorkflowCreator?: CreatorClass }).ThreadedVMWorkflowCreator;
  } catch {
    creator = undefined;
  }
  if (!knownVersions.test(version) || typeof creator?.create !== 'function') {
    logger.warn("the workflow watchdog setting is not applied: this @temporalio/worker is not one it was written for; the SDK's own 5 s bound applies", { version });
    return false;
  }
  original ??= creator.create.bind(creator);
  const create = original;
  creator.create = (options) => create({ ...options, isolateExecutionTimeoutMs: timeoutMs ?? undefined });
  return true;
}
