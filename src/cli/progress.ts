/**
 * Waits for a promise while telling the operator it is still waiting (stderr, every few
 * seconds), and gives up after a deadline.
 */
export class WaitTimeout extends Error {
  constructor(readonly seconds: number) {
    super(`no answer within ${seconds} s`);
    this.name = 'WaitTimeout';
  }
}

export async function waitWithProgress<T>(work: Promise<T>, options: { what: string; timeoutS: number; note: (text: string) => void; everyMs?: number }): Promise<T> {
  const started = Date.now();
  const every = options.everyMs ?? 2000;
  let ticker: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => reject(new WaitTimeout(options.timeoutS)), options.timeoutS * 1000);
  });
  ticker = setInterval(() => options.note(`... still waiting for ${options.what} (${Math.round((Date.now() - started) / 1000)} s)`), every);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearInterval(ticker);
    clearTimeout(deadline);
    ticker = undefined;
  }
}
