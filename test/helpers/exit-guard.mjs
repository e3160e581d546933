// Loaded into every test file's process by scripts/test.mjs (--import). The runner there ends a
// file's process once its tests and hooks are done (--test-force-exit), so a connection that a
// test leaves open can no longer hang the suite; this guard keeps such a leak from going unseen.
// When the runner exits the process, open TCP connections, listening servers and child processes
// get a short grace to close (sockets closing as the test ends); whatever is still open then is
// named on stderr and fails the file.
const graceMs = Number(process.env.FLEETVIEW_TEST_EXIT_GRACE_MS ?? 5_000);

function describe(handle) {
  const name = handle?.constructor?.name ?? typeof handle;
  if (name === 'Socket' && handle.remotePort !== undefined) return `TCP connection ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
  if (name === 'Server' && handle.listening) {
    const address = handle.address();
    return `server listening on ${typeof address === 'string' ? address : `${address?.address}:${address?.port}`}`;
  }
  if (name === 'ChildProcess' && handle.exitCode === null && handle.signalCode === null) return `child process ${handle.pid} (${handle.spawnfile} ${(handle.spawnargs ?? []).slice(1, 3).join(' ')})`;
  return null;
}

function leftOpen() {
  // process._getActiveHandles is Node's own view of what keeps the event loop alive; no public
  // API names sockets and their addresses.
  const handles = typeof process._getActiveHandles === 'function' ? process._getActiveHandles() : [];
  return handles.filter((h) => h !== process.stdin && h !== process.stdout && h !== process.stderr).map(describe).filter((d) => d !== null);
}

const exit = process.exit.bind(process);
let exiting = false;
process.exit = (code) => {
  if (exiting) return exit(code);
  exiting = true;
  const deadline = Date.now() + graceMs;
  const check = () => {
    const open = leftOpen();
    if (open.length === 0) return exit(code);
    if (Date.now() < deadline) return void setTimeout(check, 50);
    const file = process.argv.find((arg) => arg.endsWith('.test.ts')) ?? process.argv[1];
    process.stderr.write(`exit guard: ${file} left ${open.length} open ${graceMs} ms after its last test and hook (close what a test opens):\n${open.map((d) => `  ${d}`).join('\n')}\n`);
    exit(1);
  };
  check();
};
