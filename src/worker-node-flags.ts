/**
 * The Node flags the worker runs with (`npm start`, and every launcher in bench/ and test/).
 * --max-semi-space-size=4 (MiB): V8's young generation of each thread (the main one and the
 * workflow thread) shrinks from 32 to 8 MiB, and so does the heap V8 keeps after a burst (a new
 * fleet's onboarding). Measured at 1,000 × 3 (docs/scaling.md#the-workers-memory): worker RSS
 * 1,146 -> 942 MB at the end of the window (peak 1,206 -> 1,060), worker CPU per node-refresh
 * 2.535 -> 2.616 ms, within run-to-run noise.
 */
export const workerNodeFlags: readonly string[] = ['--max-semi-space-size=4'];
