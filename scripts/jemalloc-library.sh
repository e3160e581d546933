#!/bin/sh
# Prints the path of the machine's jemalloc (Debian's libjemalloc2 and the usual other places),
# or nothing: what scripts/start-worker.sh preloads, what scripts/services.sh installs if missing.
for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
  if [ -r "$lib" ]; then
    echo "$lib"
    exit 0
  fi
done
