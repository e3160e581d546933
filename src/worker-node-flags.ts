/**
 * The Node flags the worker runs with (`npm start`, and every launcher in bench/ and test/).
 * --max-semi-space-size=4 (MiB): V8's young generation of each thread (the main one and the
 * workflow thread) shrinks from 32 to 8 MiB, 48 MB in all, for worker CPU within run-to-run noise
 * at 1,000 × 3 (2.535 / 2.616 / 2.560 ms per node-refresh). RSS at that size varies between runs
 * more than that (942 and 1,117 MB with the flag, 1,146 without): docs/scaling.md#the-workers-memory.
 */
export const workerNodeFlags: readonly string[] = ['--max-semi-space-size=4'];
