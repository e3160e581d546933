import type { Client } from '@temporalio/client';
import { delay } from './processes.js';

/**
 * Terminates every running workflow of a run's task queue with one batch operation (the server
 * works through them; one call per workflow took longer than a cleanup step may at 3,000
 * clusters), then waits, bounded, until visibility shows none running.
 */
export async function terminateTaskQueueWorkflows(client: Client, namespace: string, taskQueue: string, reason: string, waitMs = 40_000): Promise<void> {
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  if ((await client.workflow.count(query)).count === 0) return;
  await client.workflowService.startBatchOperation({
    namespace,
    jobId: `${taskQueue}-terminate-${Date.now()}`,
    reason,
    visibilityQuery: query,
    terminationOperation: {},
  });
  const deadline = Date.now() + waitMs;
  while ((await client.workflow.count(query)).count > 0) {
    if (Date.now() > deadline) throw new Error(`workflows of task queue ${taskQueue} still running ${waitMs / 1000} s after the batch terminate`);
    await delay(500);
  }
}
