/**
 * Stops kafkajs 2.2.4's idle timer loop. Imported for its effect by every module of ours that
 * builds a kafkajs client, before the first connection.
 *
 * The bug (tulios/kafkajs#1556, #1704; fixes proposed in #1667 and #1768, never released; the
 * project has had no release since 2.2.4): after each response, `RequestQueue`'s
 * `scheduleCheckPendingRequests` arms a timer even when nothing is pending. Unthrottled,
 * `throttledUntil` is -1, so the delay is negative (Node makes it 1 ms), the timer checks the
 * empty queue and arms itself again: every broker connection spins a 1 ms timer loop for as long
 * as it is open. In a worker profile at one 1,000-node cluster, kafkajs and Node's timer code were
 * about half of the main thread's busy time between refreshes.
 *
 * The replacement arms the timer only when requests wait: at the end of a throttle, or after the
 * 10 ms kafkajs uses when only in-flight limits hold them (a response also checks the queue, as
 * before). With nothing pending there is nothing to check: a new request either goes out at once
 * or is queued, and queueing calls this again.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The one release whose queue this is written against; another one is left alone (test/integration/kafkajs-idle-loop.test.ts then tells). */
const patchedVersion = '2.2.4';
/** kafkajs' own interval for a queue held back only by in-flight limits (src/network/requestQueue/index.js). */
const checkPendingRequestsIntervalMs = 10;

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottledMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottledMs > 0 ? untilUnthrottledMs : checkPendingRequestsIntervalMs,
  );
}

/** Whether the running kafkajs got the fix (false: another release, left as it is). */
export const kafkajsIdleLoopFixed: boolean = (() => {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== patchedVersion) return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
})();
