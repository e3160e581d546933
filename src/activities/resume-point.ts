import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ControlStore } from '../adapters/control-store.js';
import type { ClusterStore } from '../adapters/cluster-store.js';
import type { ClusterControls } from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import { publishedGenerationMemo, resumeViewQuery } from '../workflows/messages.js';

export interface ResumePointInput {
  cluster_id: string;
  /** The new run asking: its own execution is not its predecessor. */
  workflow_id: string;
  run_id: string;
  /** Temporal vouched at the start that the workflow ID had no earlier run: no predecessor to look for. */
  no_earlier_run?: boolean;
}

export interface ResumePoint {
  /** The view to continue from: the predecessor's last one when it can tell, else the stored one. */
  view: ClusterView | null;
  /** The view in the store (the next write carries what changed since). */
  stored_view: ClusterView | null;
  /** Every generation up to this one may have been published: the new run numbers above it. */
  generation_floor: number;
  /** Where `view` came from, for the log. */
  source: 'none' | 'store' | 'predecessor';
  /** The operator's controls of the cluster as last stored (absent: none, or a run before them). */
  controls?: ClusterControls | null;
}

/** Bounds each Temporal call, inside the local activity's own 15 s. */
const temporalCallMs = 5_000;

/**
 * Where a new (not continued) cluster workflow resumes. The store holds the last view it took,
 * but a predecessor may have published later generations the store never got (the store was
 * down, or the run was terminated between publishing and saving). Its memo says the highest such
 * generation; if it is above the store's, its own last view is read with a query (Temporal
 * replays the closed run), so the new run neither reuses those ids nor announces those changes
 * again. Should the query fail (the history is past retention, or the code changed), the new run
 * still numbers above the memo's generation: ids are never reused, though a change the
 * predecessor published may then be announced once more.
 */
export function loadResumePointActivity(store: ClusterStore, controlStore: ControlStore, temporal: Client) {
  return async function loadResumePoint(input: ResumePointInput): Promise<ResumePoint> {
    const controls = await controlStore.load(input.cluster_id);
    return { ...(await loadViewResumePoint(input)), controls };
  };

  async function loadViewResumePoint(input: ResumePointInput): Promise<ResumePoint> {
    const { log, cancellationSignal } = Context.current();
    const stored = await store.loadView(input.cluster_id);
    const storedGeneration = stored?.generation ?? 0;
    const bounded = <T>(call: () => Promise<T>) =>
      temporal.withAbortSignal(cancellationSignal, () => temporal.withDeadline(Date.now() + temporalCallMs, call));

    // A run Temporal started as the ID's first has no predecessor: it skips the visibility query,
    // which Temporal rate-limits (10 a second per frontend by default; the dev server allows 100,
    // one at a time on its one SQLite connection): a thousand new clusters would wait on it.
    const predecessor = input.no_earlier_run
      ? null
      : await bounded(async () => {
          // Newest first: the run closed last is the one this run follows.
          const query = `WorkflowId = ${JSON.stringify(input.workflow_id)} AND ExecutionStatus != "Running"`;
          for await (const execution of temporal.workflow.list({ query, pageSize: 10 })) {
            if (execution.runId !== input.run_id) return execution;
          }
          return null;
        });
    const published = Number(predecessor?.memo?.[publishedGenerationMemo] ?? 0);
    const floor = Number.isSafeInteger(published) && published > storedGeneration ? published : storedGeneration;
    if (!predecessor || floor === storedGeneration) {
      return { view: stored, stored_view: stored, generation_floor: floor, source: stored ? 'store' : 'none' };
    }

    try {
      const last = await bounded(() => temporal.workflow.getHandle(input.workflow_id, predecessor.runId).query(resumeViewQuery));
      if (last && last.generation >= floor) {
        log.info('resuming from the previous run, which published past the store', {
          cluster_id: input.cluster_id,
          stored_generation: storedGeneration,
          published_generation: floor,
          previous_run: predecessor.runId,
        });
        return { view: last, stored_view: stored, generation_floor: last.generation, source: 'predecessor' };
      }
    } catch (err) {
      log.warn('could not read the previous run; resuming from the store above its published generation', {
        cluster_id: input.cluster_id,
        previous_run: predecessor.runId,
        error: (err as Error).message,
      });
    }
    return { view: stored, stored_view: stored, generation_floor: floor, source: stored ? 'store' : 'none' };
  }
}
