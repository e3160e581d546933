#!/bin/sh
# The worker as `npm start`, the benchmarks and the tests run it: `exec`, so its pid is this
# script's (a supervisor's SIGTERM reaches the worker itself, which drains).
#
# On jemalloc when the machine has it (Debian: libjemalloc2) and LD_PRELOAD is not set already:
# at 1,000 clusters the worker keeps ~30% less memory than on glibc's malloc and spends less CPU
# (docs/scaling.md#the-allocator-jemalloc). `LD_PRELOAD= npm start` runs it on glibc's malloc.
# Extra arguments are Node flags (the benchmarks' --cpu-prof); the worker's own Node flags are
# those of src/worker-node-flags.ts (test/unit/worker-node-flags.test.ts keeps the two the same).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${LD_PRELOAD+set}" ]; then
  jemalloc=$(sh scripts/jemalloc-library.sh)
  if [ -n "$jemalloc" ]; then
    LD_PRELOAD=$jemalloc
    export LD_PRELOAD
  fi
fi
exec node --max-semi-space-size=4 --heap-growing-percent=50 "$@" --import tsx src/worker.ts
