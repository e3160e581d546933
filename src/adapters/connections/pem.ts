import { readFileSync } from 'node:fs';

/** Reads a PEM file named by a setting; the error names the setting and the path. */
export function readPem(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${setting}=${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
