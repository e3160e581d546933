/**
 * Just enough globbing for the file source (Node 20 has no fs.glob): `*` and `?` in the last
 * path segment, as in `/etc/fleetview/clusters/*.yaml`. Like a shell, wildcards do not match a
 * leading dot, so editor backups such as `.a.yaml.swp` stay out.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const wildcard = /[*?]/;

export function isGlob(path: string): boolean {
  return wildcard.test(basename(path));
}

/** Problem with a pattern, or null: wildcards are only supported in the last segment. */
export function globProblem(path: string): string | null {
  return wildcard.test(dirname(path)) ? `wildcards are only supported in the file name, not in the directory: ${JSON.stringify(path)}` : null;
}

export function globToRegExp(namePattern: string): RegExp {
  let source = '';
  for (const char of namePattern) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Files of the directory matching the pattern, sorted so every run reads them in one order. */
export async function expandGlob(path: string): Promise<string[]> {
  const directory = dirname(path);
  const namePattern = basename(path);
  const matcher = globToRegExp(namePattern);
  const entries = await readdir(directory, { withFileTypes: true });
  return entries
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && matcher.test(entry.name))
    .filter((entry) => namePattern.startsWith('.') || !entry.name.startsWith('.'))
    .map((entry) => join(directory, entry.name))
    .sort();
}
