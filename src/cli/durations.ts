/**
 * What operators type for the cluster controls, turned into what the workflow's messages take:
 * durations with units (`90s`, `5m`, `1h30m`, `1.5h`), times (`2026-12-02T18:00:00Z`, `18:00`),
 * the setting flags and their units. Pure: every answer is a value or a problem naming the flag
 * and the value, so the CLI refuses bad input before it sends anything.
 */
import { controlledSettingBounds, type ControlledSetting } from '../domain/cluster-controls.js';
import { quoted } from '../domain/text.js';

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof unitMs;

/** Longer than any bound a setting or a window has (a year), so a typo never overflows a timer. */
const maxDurationMs = 400 * 86_400_000;

export class InputProblem extends Error {
  override name = 'InputProblem';
}

/**
 * A duration in ms from `90s`, `5m`, `1h30m`, `1.5h`, `250ms`, or a bare number in `bare` units.
 * Throws InputProblem naming `flag` and the value.
 */
export function parseDurationMs(flag: string, raw: string, bare: 's' | 'ms'): number {
  const text = raw.trim();
  const bad = (why: string) => new InputProblem(`${flag} ${why}, got ${quoted(raw)}`);
  const expected = `must be a duration such as 90s, 5m, 1h30m or 2d (units ms, s, m, h, d; a bare number is ${bare === 's' ? 'seconds' : 'milliseconds'})`;
  if (/^\d+(\.\d+)?$/.test(text)) return checked(Number(text) * unitMs[bare], bad);
  // One or more number-unit pairs, largest first is not required: 90m and 1h30m are both fine.
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) throw bad(expected);
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) total += Number(amount) * unitMs[unit as Unit];
  return checked(total, bad);
}

function checked(ms: number, bad: (why: string) => InputProblem): number {
  if (!Number.isFinite(ms) || ms > maxDurationMs) throw bad('is longer than a year');
  // Decimals (1.5h) are fine as long as they land on a whole millisecond.
  const rounded = Math.round(ms);
  if (Math.abs(rounded - ms) > 1e-6) throw bad('is not a whole number of milliseconds');
  return rounded;
}

/** A duration in whole seconds (`--for`, the intervals and graces). */
export function parseDurationS(flag: string, raw: string): number {
  const ms = parseDurationMs(flag, raw, 's');
  if (ms % 1000 !== 0) throw new InputProblem(`${flag} must be a whole number of seconds, got ${quoted(raw)}`);
  return ms / 1000;
}

/** `1d2h`, `90s` → `1m30s`, `0s`: seconds as an operator reads them. */
export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0s';
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) parts.push(`${amount}${unit}`);
    rest -= amount * size;
  }
  return parts.join('');
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? formatSeconds(ms / 1000) : `${ms}ms`;
}

/** The settings an operator sets, by flag: the name on the command line and in the output. */
export interface SettingFlag {
  flag: 'interval' | 'agent-timeout' | 'node-grace' | 'cluster-grace';
  setting: ControlledSetting;
  /** The unit of the setting's value (and of a bare number on the command line). */
  unit: 's' | 'ms';
}

export const settingFlags: readonly SettingFlag[] = [
  { flag: 'interval', setting: 'refresh_interval_s', unit: 's' },
  { flag: 'agent-timeout', setting: 'agent_timeout_ms', unit: 'ms' },
  { flag: 'node-grace', setting: 'node_retire_grace_s', unit: 's' },
  { flag: 'cluster-grace', setting: 'cluster_retire_grace_s', unit: 's' },
];

export function flagOf(setting: ControlledSetting): SettingFlag {
  return settingFlags.find((candidate) => candidate.setting === setting)!;
}

/** A setting's value as text: `60s`, `5s`, `250ms`. */
export function formatSetting(setting: ControlledSetting, value: number): string {
  return flagOf(setting).unit === 's' ? formatSeconds(value) : formatMs(value);
}

/** The value of `--<flag> RAW` in the setting's unit, within the setting's bounds. */
export function parseSettingFlag(flag: SettingFlag, raw: string): number {
  const name = `--${flag.flag}`;
  const value = flag.unit === 's' ? parseDurationS(name, raw) : parseDurationMs(name, raw, 'ms');
  const [min, max] = controlledSettingBounds[flag.setting];
  if (value < min || value > max) {
    throw new InputProblem(`${name} must be from ${formatSetting(flag.setting, min)} to ${formatSetting(flag.setting, max)}, got ${quoted(raw)}`);
  }
  return value;
}

/**
 * The instant `--until RAW` names, as an ISO time in UTC:
 * - an ISO 8601 date and time with its offset (`2026-12-02T18:00:00Z`, `2026-12-02T19:00+01:00`);
 * - a date and time without an offset (`2026-12-02T18:00`): this machine's local time;
 * - `HH:MM`: today, local time; refused once that time has passed today (tomorrow? give a date),
 *   and when the clock skips or repeats that time today (a daylight saving change).
 * Whether it lies in the future and within bounds is the domain's check (parsePauseRequest).
 */
export function parseUntil(raw: string, nowMs: number): string {
  const text = raw.trim();
  const bad = (why: string) => new InputProblem(`--until ${why}, got ${quoted(raw)}`);
  const clock = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (clock) {
    const [hours, minutes] = [Number(clock[1]), Number(clock[2])];
    if (hours > 23 || minutes > 59) throw bad('must be a time of day from 00:00 to 23:59');
    const now = new Date(nowMs);
    const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hours, minutes);
    // A skipped local time is moved by Date; a repeated one has two instants an hour apart.
    const repeated = new Date(at.getTime() + 3_600_000);
    const earlier = new Date(at.getTime() - 3_600_000);
    if (at.getHours() !== hours || at.getMinutes() !== minutes || (repeated.getHours() === hours && repeated.getMinutes() === minutes) || (earlier.getHours() === hours && earlier.getMinutes() === minutes)) {
      throw bad('names a local time the clock skips or repeats today: give the date, time and offset (2026-12-02T18:00:00Z)');
    }
    if (at.getTime() <= nowMs) throw bad(`has passed today (now ${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')} local): give the date too, e.g. ${isoLocalDate(new Date(nowMs + 86_400_000))}T${clock[1]!.padStart(2, '0')}:${clock[2]}`);
    return at.toISOString();
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!iso) throw bad('must be an ISO 8601 time (2026-12-02T18:00:00Z, or without an offset: local time) or HH:MM (today, local time)');
  const ms = Date.parse(iso[8] && /^[+-]\d{4}$/.test(iso[8]) ? `${text.slice(0, -5)}${iso[8].slice(0, 3)}:${iso[8].slice(3)}` : text);
  if (Number.isNaN(ms)) throw bad('is not a valid date and time');
  // Date.parse rolls 2026-02-30 over to March: refuse what is not a real calendar day.
  const day = new Date(Date.UTC(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3])));
  if (day.getUTCMonth() !== Number(iso[2]) - 1 || day.getUTCDate() !== Number(iso[3]) || Number(iso[4]) > 23 || Number(iso[5]) > 59) throw bad('is not a valid date and time');
  return new Date(ms).toISOString();
}

function isoLocalDate(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}
