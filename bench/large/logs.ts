/** Log files read from where a phase began: their size at a point, and the lines since then that match. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export interface LogMatches {
  file: string;
  /** Whether the file could be read at all. */
  read: boolean;
  count: number;
  /** The first few matching lines, each cut to 300 characters. */
  first: string[];
  /** The last few. */
  last: string[];
}

/** Lines written to `file` after byte `fromOffset` that match `pattern` (at most 64 MiB read). */
export function grepFrom(file: string, fromOffset: number, pattern: RegExp, keep = 3): LogMatches {
  const result: LogMatches = { file, read: false, count: 0, first: [], last: [] };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return result;
  }
  try {
    const size = statSync(file).size;
    const start = fromOffset <= size ? fromOffset : 0;
    const length = Math.min(size - start, 64 * 2 ** 20);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, start);
    result.read = true;
    for (const line of buffer.toString('utf8').split('\n')) {
      if (!pattern.test(line)) continue;
      result.count += 1;
      const cut = line.length > 300 ? `${line.slice(0, 300)}…` : line;
      if (result.first.length < keep) result.first.push(cut);
      result.last.push(cut);
      if (result.last.length > keep) result.last.shift();
    }
  } finally {
    closeSync(fd);
  }
  return result;
}
