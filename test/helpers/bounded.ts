/**
 * Bounds for the suite's hooks: no before/after hook waits without a deadline (an eslint rule
 * requires the options argument), and a cleanup tries every step, each bounded, whatever the
 * steps before it did, then fails naming each step that failed or hung.
 */
import { within } from '../../src/adapters/deadline.js';

/** A before hook: starting services of its own, a worker and a sim fits well within this. */
export const setupBound = { timeout: 240_000 } as const;

const cleanupTotalMs = 150_000;
/** An after hook: longer than cleanUp's whole budget, so a hung step is named by cleanUp, not by the runner. */
export const cleanupBound = { timeout: cleanupTotalMs + 30_000 } as const;

/**
 * Runs the steps in order (the keys name them), each within `stepMs` and all within the hook's
 * budget; a failing or hung step does not keep the later ones from running. Throws at the end,
 * naming every step that failed.
 */
export async function cleanUp(steps: Record<string, () => unknown>, { stepMs = 30_000 }: { stepMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + cleanupTotalMs;
  const problems: string[] = [];
  for (const [what, run] of Object.entries(steps)) {
    // Past the budget every remaining step still gets a moment: a quick close should not be skipped.
    const budget = Math.max(2_000, Math.min(stepMs, deadline - Date.now()));
    try {
      await within(Promise.resolve().then(run), budget, what);
    } catch (err) {
      problems.push(err instanceof Error && err.message.startsWith(what) ? err.message : `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new Error(`cleanup: ${problems.length} step(s) failed:\n  ${problems.join('\n  ')}`);
}
