import { randomBytes } from 'node:crypto';

/** One id per `npm test` run (set by scripts/test.mjs), so leftovers of earlier runs never match. */
const runId = process.env.FLEETVIEW_TEST_RUN_ID ?? Date.now().toString(36);

/** A name no earlier run and no other test uses: for task queues, topics, databases, workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${runId}-${randomBytes(4).toString('hex')}`;
}
