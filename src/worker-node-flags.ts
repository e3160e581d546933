import { fileURLToPath } from 'node:url';
/**
 * The Node flags the worker runs with: scripts/start-worker.sh passes them (`npm start`, and every
 * launcher in bench/ and test/), src/worker.ts sets them when started otherwise.
 * --max-semi-space-size=4 (MiB): V8's young generation of each thread (the main one and the
 * workflow thread) shrinks from 32 to 8 MiB, 48 MB in all, for worker CPU within run-to-run noise
 * at 1,000 × 3 (2.535 / 2.616 / 2.560 ms per node-refresh). RSS at that size varies between runs
 * more than that (942 and 1,117 MB with the flag, 1,146 without): docs/scaling.md#the-workers-memory.
 */
export const workerNodeFlags: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The worker's launcher, `sh scripts/start-worker.sh [NODE FLAGS]`: `npm start`, the benchmarks and
 * the tests all start the worker through it (its flags above, jemalloc when the machine has it).
 */
export const workerLauncher: string = fileURLToPath(new URL('../scripts/start-worker.sh', import.meta.url));
