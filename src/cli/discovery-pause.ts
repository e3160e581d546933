/**
 * A discovery's pause and resume reach its clusters one by one: the `pause` (`resume`) update of
 * each cluster's workflow, a few at a time, each within its own deadline, so a cluster whose
 * workflow is gone or whose worker does not answer is reported without holding up the others.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Actor } from '../domain/cluster-controls.js';
import { clusterWorkflowId } from '../domain/ids.js';
import { pauseUpdate, resumeUpdate, type ControlsResult } from '../workflows/messages.js';

/** Updates in flight at once: enough to hide round trips, few enough for a loaded server. */
const concurrency = 8;

export type ClusterControlCall = { kind: 'pause'; request: { reason: string; until: string | null; actor: Actor } } | { kind: 'resume'; request: { actor: Actor } };

export interface FanOutOutcome {
  /** Clusters the update changed. */
  done: number;
  /** Clusters it left as they were (already paused with this pause, not paused). */
  unchanged: number;
  failed: { cluster: string; problem: string }[];
}

function problemOf(err: unknown, timeoutS: number): string {
  if (err instanceof WorkflowNotFoundError) return 'no running workflow (retired or terminated; discovery starts it again while a discovery lists it)';
  if (err instanceof WorkflowUpdateFailedError) return `refused: ${err.cause?.message ?? err.message}`;
  const text = err instanceof Error ? err.message : String(err);
  if (/deadline|timed? ?out|cancel/i.test(text)) return `no answer within ${timeoutS} s (is a worker polling the task queue?)`;
  // "Workflow Update failed" alone says nothing: the server's reason is in the cause.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : null;
  return cause ? `${text}: ${cause}` : text;
}

export async function fanOutToClusters(
  client: Client,
  clusters: readonly string[],
  call: ClusterControlCall,
  options: { timeoutS: number; note: (text: string) => void },
): Promise<FanOutOutcome> {
  const outcome: FanOutOutcome = { done: 0, unchanged: 0, failed: [] };
  let next = 0;
  let finished = 0;
  const lane = async () => {
    while (next < clusters.length) {
      const cluster = clusters[next++]!;
      const handle = client.workflow.getHandle(clusterWorkflowId(cluster));
      try {
        const result: ControlsResult = await client.withDeadline(Date.now() + options.timeoutS * 1000, () =>
          call.kind === 'pause' ? handle.executeUpdate(pauseUpdate, { args: [call.request] }) : handle.executeUpdate(resumeUpdate, { args: [call.request] }),
        );
        if (result.changed) outcome.done += 1;
        else outcome.unchanged += 1;
      } catch (err) {
        outcome.failed.push({ cluster, problem: problemOf(err, options.timeoutS) });
      }
      finished += 1;
      if (clusters.length >= 100 && finished % 100 === 0) options.note(`${finished} of ${clusters.length} clusters done`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clusters.length) }, lane));
  outcome.failed.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  return outcome;
}
