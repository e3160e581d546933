/** Bounded waits: every wait on another service or process ends, and says what it waited for. */

/** A step that did not finish in time: names what it waited for. */
export class DeadlineError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

/** Resolves as `work` does, or rejects after `timeoutMs` (or when `signal` aborts) naming `what`. */
export function within<T>(work: Promise<T>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(Object.assign(new Error(`${what}: stopped`), { name: 'AbortError' }));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new DeadlineError(what, timeoutMs));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
