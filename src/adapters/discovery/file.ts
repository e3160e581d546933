/**
 * The `file` discovery source: YAML or JSON files (one path or a glob) each holding a list of
 * records, re-read on every run. A file that cannot be read or parsed keeps its last good
 * content (with an error saying so); without a last good content the whole run fails, since
 * skipping the file would look like its clusters were gone.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { decodeUtf8, NotUtf8Error } from '../../domain/utf8.js';
import { DiscoverySourceError } from './errors.js';
import { expandGlob, globProblem, isGlob } from './glob.js';
import { typeName, validateRecords } from './records.js';
import type { DiscoveryProblem, DiscoveryResult, RawRecord } from './records.js';
import type { DiscoverySource } from './source.js';

export interface FileSourceOptions {
  /** A file, or a glob with `*` / `?` in the file name. */
  path: string;
}

interface GoodContent {
  records: unknown[];
  /** When this content was read (ISO), shown in errors while it stands in for a broken file. */
  readAt: string;
}

export function createFileSource(name: string, options: FileSourceOptions, now: () => Date = () => new Date()): DiscoverySource {
  const patternProblem = globProblem(options.path);
  if (patternProblem) throw new DiscoverySourceError(name, patternProblem, false);
  const lastGood = new Map<string, GoodContent>();

  async function listFiles(): Promise<string[]> {
    if (!isGlob(options.path)) return [options.path];
    let files: string[];
    try {
      files = await expandGlob(options.path);
    } catch (error) {
      throw new DiscoverySourceError(name, `cannot list ${JSON.stringify(options.path)}: ${(error as Error).message}`);
    }
    // An empty match is far more often a missing mount than a fleet with no clusters.
    if (files.length === 0) throw new DiscoverySourceError(name, `no file matches ${JSON.stringify(options.path)}`);
    return files;
  }

  async function discover(): Promise<DiscoveryResult> {
    const files = await listFiles();
    const raw: RawRecord[] = [];
    const fileErrors: DiscoveryProblem[] = [];
    for (const file of files) {
      let records: unknown[];
      try {
        records = await readRecords(file);
        lastGood.set(file, { records, readAt: now().toISOString() });
      } catch (error) {
        const reason = (error as Error).message;
        const good = lastGood.get(file);
        if (!good) throw new DiscoverySourceError(name, `${file}: ${reason} (no earlier good content to fall back on)`);
        fileErrors.push({ source: name, location: file, message: `discovery ${JSON.stringify(name)}: ${file}: ${reason}; keeping its last good content, read at ${good.readAt}` });
        records = good.records;
      }
      records.forEach((value, index) => raw.push({ location: `${file} records[${index}]`, value }));
    }
    // Files gone from the glob are gone on purpose; forget them.
    for (const file of lastGood.keys()) if (!files.includes(file)) lastGood.delete(file);
    const result = validateRecords(name, raw);
    return { records: result.records, errors: [...fileErrors, ...result.errors] };
  }

  return { name, backend: 'file', discover, close: () => undefined };
}

async function readRecords(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = decodeUtf8(await readFile(file));
  } catch (error) {
    if (error instanceof NotUtf8Error) throw error;
    throw new Error(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  // An empty file is usually one caught mid-write: it must not read as "no clusters".
  if (text.trim() === '') throw new Error('the file is empty (write [] for a file with no clusters)');
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML is a superset of JSON: one parser for both
  } catch (error) {
    throw new Error(`not valid YAML or JSON: ${firstLine((error as Error).message)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`expected a list of records, got ${typeName(parsed)}`);
  return parsed as unknown[];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
