/**
 * Structured logs: one JSON object per line on stderr, so a log shipper can parse them and
 * stdout stays free for command output.
 */
import type { LogLevel } from '../config.js';

export type LogAttributes = Record<string, unknown>;

export interface Logger {
  debug(message: string, attrs?: LogAttributes): void;
  info(message: string, attrs?: LogAttributes): void;
  warn(message: string, attrs?: LogAttributes): void;
  error(message: string, attrs?: LogAttributes): void;
  child(attrs: LogAttributes): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string) => void;

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createLogger(level: LogLevel, base: LogAttributes = {}, sink: LogSink = (line) => process.stderr.write(line)): Logger {
  const write = (at: LogLevel, message: string, attrs: LogAttributes = {}) => {
    if (rank[at] < rank[level]) return;
    const entry: LogAttributes = { time: new Date().toISOString(), level: at, msg: message, ...base };
    for (const [key, value] of Object.entries(attrs)) entry[key] = errorFields(value);
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({ time: entry.time, level: at, msg: message, note: 'attributes were not serializable' });
    }
    sink(`${line}\n`);
  };
  return {
    debug: (message, attrs) => write('debug', message, attrs),
    info: (message, attrs) => write('info', message, attrs),
    warn: (message, attrs) => write('warn', message, attrs),
    error: (message, attrs) => write('error', message, attrs),
    child: (attrs) => createLogger(level, { ...base, ...attrs }, sink),
  };
}
