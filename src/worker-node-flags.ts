import { fileURLToPath } from 'node:url';

/**
 * The Node flags the worker runs with: scripts/start-worker.sh passes them (`npm start`, and every
 * launcher in bench/ and test/), src/worker.ts sets them when started otherwise.
 * --max-semi-space-size=4 (MiB): V8's young generation of each thread (the main one and the
 * workflow thread) shrinks from 32 to 8 MiB, 48 MB in all, for worker CPU within run-to-run noise
 * at 1,000 × 3 (2.535 / 2.616 / 2.560 ms per node-refresh). RSS at that size varies between runs
 * more than that (942 and 1,117 MB with the flag, 1,146 without): docs/scaling.md#the-workers-memory.
 * --heap-growing-percent=50: after each full GC, V8 lets a thread's old generation grow to 1.5 times
 * what survived, where by default it picks up to 4 times when GC is cheap (V8's heap-controller):
 * at 1,000 × 3 every 15 s the two threads kept ~100 and ~130 MB live in ~330 and ~380 MB of heap.
 * With 50 the worker's RSS median fell from 967 to 720 MB, CPU per node-refresh within noise (3.46
 * against 3.36 and 3.53 ms); with 25, 689 MB but +15% CPU and refreshes falling behind
 * (docs/scaling.md#the-v8-heap-growing-factor-15).
 */
export const workerNodeFlags: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=50'];

/**
 * The worker's launcher, `sh scripts/start-worker.sh [NODE FLAGS]`: `npm start`, the benchmarks and
 * the tests all start the worker through it (its flags above, jemalloc when the machine has it).
 */
export const workerLauncher: string = fileURLToPath(new URL('../scripts/start-worker.sh', import.meta.url));
