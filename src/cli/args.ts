import { parseArgs, type ParseArgsConfig } from 'node:util';
import { quoted } from '../domain/text.js';
import { usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<T extends Options> {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
}

/**
 * Parses one command's arguments; null when `--help` was asked (the usage is then printed).
 * Unknown options, missing or extra arguments are usage errors naming the command.
 */
export function parseCommand<T extends Options>(
  argv: string[],
  spec: { command: string; usage: string; options: T; positionals: [min: number, max: number] },
  print: (text: string) => void,
): Parsed<T> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    print(spec.usage);
    return null;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(`fleetview ${spec.command}: ${(err as Error).message}\n\n${spec.usage}`);
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min) throw usageError(`fleetview ${spec.command}: missing argument\n\n${spec.usage}`);
  if (parsed.positionals.length > max) {
    throw usageError(`fleetview ${spec.command}: unexpected argument ${JSON.stringify(parsed.positionals[max])}\n\n${spec.usage}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Longest wait an option may ask for: a day (timers cannot wait longer than 24.8 days anyway). */
const maxSeconds = 86_400;

/** A positive number of seconds, at most a day, from an option; or the default. */
export function secondsOption(command: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > maxSeconds) {
    throw usageError(`fleetview ${command}: --${name} must be a positive number of seconds, at most ${maxSeconds}, got ${quoted(raw)}`);
  }
  return value;
}

export function countOption(command: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw usageError(`fleetview ${command}: --${name} must be a whole number, got ${quoted(raw)}`);
  return value;
}
