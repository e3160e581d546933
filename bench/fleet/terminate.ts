import type { Client } from '@temporalio/client';
import { delay } from './processes.js';

/**
 * Terminates every running workflow of a run's task queue with one batch operation (the server
 * works through them; one call per workflow took longer than a cleanup step may at 3,000
 * clusters), then waits, bounded, until visibility shows none running. The batch terminates the
 * runs it listed: one that continued as new meanwhile (a run of 20 refreshes ends every 5 minutes
 * at 15 s, so several a second at 1,000 clusters) leaves its successor running, which a further
 * batch, every few seconds while any runs, terminates.
 */
export async function terminateTaskQueueWorkflows(client: Client, namespace: string, taskQueue: string, reason: string, waitMs = 40_000): Promise<void> {
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  if ((await client.workflow.count(query)).count === 0) return;
  const terminateListed = () =>
    client.workflowService.startBatchOperation({
      namespace,
      jobId: `${taskQueue}-terminate-${Date.now()}`,
      reason,
      visibilityQuery: query,
      terminationOperation: {},
    });
  await terminateListed();
  const deadline = Date.now() + waitMs;
  let lastBatchAt = Date.now();
  while ((await client.workflow.count(query)).count > 0) {
    if (Date.now() > deadline) throw new Error(`workflows of task queue ${taskQueue} still running ${waitMs / 1000} s after the batch terminate`);
    if (Date.now() - lastBatchAt >= batchRepeatMs) {
      // The server runs one batch per namespace at a time by default: one still working is let be.
      await terminateListed().catch((err: unknown) => {
        if (!/concurrent batch|resource[ _]?exhausted/i.test(String(err))) throw err;
      });
      lastBatchAt = Date.now();
    }
    await delay(500);
  }
}

/** How long a batch gets to work through its list before the next one lists what still runs. */
const batchRepeatMs = 5_000;
