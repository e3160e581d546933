/**
 * What the benchmark must undo, kept as it goes: every step registers its undo at once, scopes
 * undo in reverse order when they end (a size, a phase), and SIGINT/SIGTERM undo everything
 * left before exiting. Each undo is bounded in time, so a hung service cannot hang the cleanup;
 * what could not be undone is kept in `problems` and reported.
 */

interface Undo {
  label: string;
  run: () => unknown;
}

const undoTimeoutMs = 45_000;

export class Cleanup {
  private readonly stack: Undo[] = [];
  readonly problems: string[] = [];

  constructor(private readonly log: (line: string) => void) {}

  add(label: string, run: Undo['run']): void {
    this.stack.push({ label, run });
  }

  /** Marks the current depth; `undoTo(mark)` undoes only what was added after it. */
  mark(): number {
    return this.stack.length;
  }

  async undoTo(mark: number): Promise<void> {
    while (this.stack.length > mark) {
      const undo = this.stack.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(undo.run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`not done within ${undoTimeoutMs / 1000} s`)), undoTimeoutMs);
          }),
        ]);
      } catch (err) {
        const problem = `${undo.label}: ${err instanceof Error ? err.message : String(err)}`;
        this.problems.push(problem);
        this.log(`cleanup problem: ${problem}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  undoAll(): Promise<void> {
    return this.undoTo(0);
  }

  /**
   * On the first SIGINT/SIGTERM: undo everything, then exit 130. A second signal exits at once,
   * unless it comes within a second of the first: Ctrl-C reaches this process from the terminal
   * and again forwarded by npm and tsx, and that echo must not cut the cleanup short.
   */
  installSignalHandlers(): void {
    let firstSignalMs: number | null = null;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (firstSignalMs !== null) {
        if (Date.now() - firstSignalMs > 1000) process.exit(130);
        return;
      }
      firstSignalMs = Date.now();
      this.log(`${signal}: cleaning up what the benchmark started (again to quit at once)`);
      void this.undoAll().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}
