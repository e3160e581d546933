/**
 * Records a cluster's operator changes: their audit events out to Kafka and the controls into the
 * store, one change after the other (a cluster's audit events go out in order). A recording
 * outlives the update that started it; the run counts recordings in flight so continue-as-new and
 * completion wait for them.
 */
import { condition, log } from '@temporalio/workflow';
import type { ClusterControls } from '../domain/cluster-controls.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import { publishBatchSize, publishEvents, recordControls } from './refresh-activities.js';

export interface ControlRecorder {
  /** Records `events` and the controls as they stand now, after the recordings before it. */
  record(events: FleetEvent[]): Promise<void>;
  /** Records the events `make` builds once `ready()` holds (their revision must follow the stored one). */
  recordWhen(ready: () => boolean, make: () => FleetEvent[]): void;
  /** Recordings started and not finished. */
  inFlight(): number;
}

export function createControlRecorder(run: {
  clusterId(): string;
  controls(): ClusterControls;
  /** Told after every recording whether the store still lacks the controls (the run writes them again later). */
  setOwed(owed: boolean): void;
}): ControlRecorder {
  let recording: Promise<void> = Promise.resolve();
  let inFlight = 0;

  function record(events: FleetEvent[]): Promise<void> {
    const snapshot = { ...run.controls() };
    inFlight += 1;
    const step = recording.then(async () => {
      const cluster_id = run.clusterId();
      try {
        const result = await recordControls({ cluster_id, controls: snapshot, events });
        run.setOwed(!result.stored);
        if (!result.stored) log.warn('the store did not take the controls; they are written again later', { cluster_id, error: result.store_error });
      } catch (err) {
        // Kafka has been failing for longer than the local budget: hold the events durably.
        log.warn('audit events are retried until Kafka takes them', { cluster_id, error: (err as Error).message });
        for (let start = 0; start < events.length; start += publishBatchSize) await publishEvents(events.slice(start, start + publishBatchSize));
        run.setOwed(true);
      } finally {
        inFlight -= 1;
      }
    });
    recording = step.catch(() => undefined);
    return step;
  }

  function recordWhen(ready: () => boolean, make: () => FleetEvent[]): void {
    inFlight += 1;
    void condition(ready).then(() => {
      inFlight -= 1;
      void record(make());
    });
  }

  return { record, recordWhen, inFlight: () => inFlight };
}
