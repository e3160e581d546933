/**
 * What operators steer per cluster: settings in three layers, pause and maintenance windows, and
 * who did it. Pure and workflow-safe: the cluster refresh workflow validates and applies these in
 * its update handlers; the CLI validates the same way before it sends anything.
 *
 * Precedence, highest first: the operator's override (`fleetview cluster set`), the discovery
 * (the record's `settings`), the default (the worker's configuration when the workflow started,
 * or the last `fleetview settings apply`).
 */
import { describeType, labelProblem, oneLine, quoted } from './text.js';

export const controlledSettings = ['refresh_interval_s', 'agent_timeout_ms', 'node_retire_grace_s', 'cluster_retire_grace_s'] as const;
export type ControlledSetting = (typeof controlledSettings)[number];
export type SettingValues = Partial<Record<ControlledSetting, number>>;

/** Bounds of every controlled setting (integers, inclusive). */
export const controlledSettingBounds: Record<ControlledSetting, readonly [number, number]> = {
  refresh_interval_s: [1, 86_400],
  agent_timeout_ms: [100, 600_000],
  node_retire_grace_s: [0, 30 * 86_400],
  cluster_retire_grace_s: [0, 30 * 86_400],
};

export type SettingLayer = 'default' | 'discovery' | 'operator';

export interface SettingLayers {
  default: SettingValues;
  discovery: SettingValues;
  operator: SettingValues;
}

/** A setting's value and the layer it came from; null: not set anywhere (the worker's own default applies). */
export interface EffectiveSetting {
  value: number | null;
  source: SettingLayer | null;
}
export type EffectiveSettings = Record<ControlledSetting, EffectiveSetting>;

export function effectiveSettings(layers: SettingLayers): EffectiveSettings {
  const out = {} as EffectiveSettings;
  for (const key of controlledSettings) {
    const source = (['operator', 'discovery', 'default'] as const).find((layer) => layers[layer][key] !== undefined) ?? null;
    out[key] = { value: source === null ? null : (layers[source][key] as number), source };
  }
  return out;
}

/** The settings whose effective value or source differs. */
export function changedSettings(before: EffectiveSettings, after: EffectiveSettings): SettingChange[] {
  return controlledSettings
    .filter((key) => before[key].value !== after[key].value || before[key].source !== after[key].source)
    .map((setting) => ({ setting, before: before[setting], after: after[setting] }));
}

export interface SettingChange {
  setting: ControlledSetting;
  before: EffectiveSetting;
  after: EffectiveSetting;
}

/** Who asked: the operator's name (`--actor`, else the OS user) and the Temporal client's identity. */
export interface Actor {
  user: string;
  identity: string | null;
}

/** A pause or a maintenance window. */
export interface ControlWindow {
  since: string;
  /** Null: until an operator ends it (pauses only). */
  until: string | null;
  reason: string;
  actor: Actor;
}

/** The operator's state of one cluster: kept in the workflow, carried on, and stored. */
export interface ClusterControls {
  /** Counts every change and every audit event of this cluster's controls: their event ids. */
  revision: number;
  operator: SettingValues;
  pause: ControlWindow | null;
  maintenance: ControlWindow | null;
}

export const noControls: ClusterControls = { revision: 0, operator: {}, pause: null, maintenance: null };

/** Longest window that ends by itself; a pause without an end lasts until resumed. */
export const maxWindowS = 366 * 86_400;
export const maxReasonLength = 200;

export class ControlRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ControlRequestError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortJson(value: unknown): string {
  if (typeof value === 'string') return quoted(value, 60);
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? describeType(value) : oneLine(json, 60);
}

function unknownFields(raw: Record<string, unknown>, known: readonly string[], problems: string[], where: string): void {
  for (const key of Object.keys(raw)) if (!known.includes(key)) problems.push(`${where}${key} is not a field (known: ${known.join(', ')})`);
}

/** The problem of one setting's value, or null. */
export function settingValueProblem(key: ControlledSetting, value: unknown): string | null {
  const [min, max] = controlledSettingBounds[key];
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return null;
  return `${key} must be an integer from ${min} to ${max}, got ${shortJson(value)}`;
}

function parseActor(raw: unknown, problems: string[]): Actor {
  if (raw === undefined || raw === null) return { user: 'unknown', identity: null };
  if (!isObject(raw)) {
    problems.push(`actor must be an object {user, identity}, got ${describeType(raw)}`);
    return { user: 'unknown', identity: null };
  }
  unknownFields(raw, ['user', 'identity'], problems, 'actor.');
  const userProblem = labelProblem('actor.user', raw.user, 200);
  if (userProblem) problems.push(userProblem);
  const identityProblem = raw.identity === null || raw.identity === undefined ? null : labelProblem('actor.identity', raw.identity, 200);
  if (identityProblem) problems.push(identityProblem);
  return { user: typeof raw.user === 'string' ? raw.user : 'unknown', identity: typeof raw.identity === 'string' ? raw.identity : null };
}

function parseReason(raw: unknown, problems: string[], required: boolean): string {
  if (raw === undefined || raw === null) {
    if (required) problems.push('reason is required: say why (one line, at most 200 characters)');
    return '';
  }
  const problem = labelProblem('reason', raw, maxReasonLength);
  if (problem) problems.push(problem);
  return typeof raw === 'string' ? raw : '';
}

/** The end of a window from `until` (ISO time) or `for_s` (seconds from now); null when neither is given. */
function parseWindowEnd(raw: Record<string, unknown>, nowMs: number, problems: string[]): string | null {
  if (raw.until !== undefined && raw.until !== null && raw.for_s !== undefined && raw.for_s !== null) {
    problems.push('give until or for_s, not both');
    return null;
  }
  if (raw.for_s !== undefined && raw.for_s !== null) {
    if (typeof raw.for_s !== 'number' || !Number.isInteger(raw.for_s) || raw.for_s < 1 || raw.for_s > maxWindowS) {
      problems.push(`for_s must be an integer number of seconds from 1 to ${maxWindowS}, got ${shortJson(raw.for_s)}`);
      return null;
    }
    return new Date(nowMs + raw.for_s * 1000).toISOString();
  }
  if (raw.until === undefined || raw.until === null) return null;
  const ms = typeof raw.until === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw.until) ? Date.parse(raw.until) : NaN;
  if (Number.isNaN(ms)) {
    problems.push(`until must be an ISO 8601 time such as 2026-12-02T18:00:00Z, got ${shortJson(raw.until)}`);
    return null;
  }
  if (ms <= nowMs) {
    problems.push(`until ${raw.until as string} is not in the future (now: ${new Date(nowMs).toISOString()})`);
    return null;
  }
  if (ms > nowMs + maxWindowS * 1000) {
    problems.push(`until ${raw.until as string} is more than ${maxWindowS / 86_400} days away`);
    return null;
  }
  return new Date(ms).toISOString();
}

function done<T>(problems: string[], value: T): T {
  if (problems.length > 0) throw new ControlRequestError(problems);
  return value;
}

/** `settings` update: `set` values and `unset` names of the operator's layer. */
export interface SettingsRequest {
  set: SettingValues;
  unset: ControlledSetting[];
  actor: Actor;
}

export function parseSettingsRequest(raw: unknown): SettingsRequest {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ControlRequestError([`the request must be an object {set, unset, actor}, got ${describeType(raw)}`]);
  unknownFields(raw, ['set', 'unset', 'actor'], problems, '');
  const set: SettingValues = {};
  if (raw.set !== undefined && raw.set !== null) {
    if (!isObject(raw.set)) problems.push(`set must be an object of settings, got ${describeType(raw.set)}`);
    else {
      for (const [key, value] of Object.entries(raw.set)) {
        if (!(controlledSettings as readonly string[]).includes(key)) {
          problems.push(`set.${oneLine(key, 40)} is not a setting (known: ${controlledSettings.join(', ')})`);
          continue;
        }
        const problem = settingValueProblem(key as ControlledSetting, value);
        if (problem) problems.push(`set.${problem}`);
        else set[key as ControlledSetting] = value as number;
      }
    }
  }
  const unset: ControlledSetting[] = [];
  if (raw.unset !== undefined && raw.unset !== null) {
    if (!Array.isArray(raw.unset)) problems.push(`unset must be a list of setting names, got ${describeType(raw.unset)}`);
    else
      for (const name of raw.unset) {
        if (typeof name !== 'string' || !(controlledSettings as readonly string[]).includes(name)) problems.push(`unset: ${shortJson(name)} is not a setting (known: ${controlledSettings.join(', ')})`);
        else if (name in set) problems.push(`${name} is both set and unset`);
        else if (!unset.includes(name as ControlledSetting)) unset.push(name as ControlledSetting);
      }
  }
  if (problems.length === 0 && Object.keys(set).length === 0 && unset.length === 0) problems.push('nothing to change: give set or unset');
  const actor = parseActor(raw.actor, problems);
  return done(problems, { set, unset, actor });
}

/** `defaults` update: the default layer as a whole (`fleetview settings apply`). */
export interface DefaultsRequest {
  defaults: SettingValues;
  actor: Actor;
}

export function parseDefaultsRequest(raw: unknown): DefaultsRequest {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ControlRequestError([`the request must be an object {defaults, actor}, got ${describeType(raw)}`]);
  unknownFields(raw, ['defaults', 'actor'], problems, '');
  const defaults: SettingValues = {};
  if (!isObject(raw.defaults)) problems.push(`defaults must be an object of settings, got ${describeType(raw.defaults)}`);
  else
    for (const [key, value] of Object.entries(raw.defaults)) {
      if (!(controlledSettings as readonly string[]).includes(key)) problems.push(`defaults.${oneLine(key, 40)} is not a setting (known: ${controlledSettings.join(', ')})`);
      else if (value !== null) {
        const problem = settingValueProblem(key as ControlledSetting, value);
        if (problem) problems.push(`defaults.${problem}`);
        else defaults[key as ControlledSetting] = value as number;
      }
    }
  const actor = parseActor(raw.actor, problems);
  return done(problems, { defaults, actor });
}

/** `pause` update. */
export interface PauseRequest {
  until: string | null;
  reason: string;
  actor: Actor;
}

export function parsePauseRequest(raw: unknown, nowMs: number): PauseRequest {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ControlRequestError([`the request must be an object {reason, until or for_s, actor}, got ${describeType(raw)}`]);
  unknownFields(raw, ['until', 'for_s', 'reason', 'actor'], problems, '');
  const until = parseWindowEnd(raw, nowMs, problems);
  const reason = parseReason(raw.reason, problems, true);
  const actor = parseActor(raw.actor, problems);
  return done(problems, { until, reason, actor });
}

/** `maintenance` update: a window that ends by itself, or `end: true` to end the current one now. */
export type MaintenanceRequest = { end: false; until: string; reason: string; actor: Actor } | { end: true; actor: Actor };

export function parseMaintenanceRequest(raw: unknown, nowMs: number): MaintenanceRequest {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ControlRequestError([`the request must be an object {reason, until or for_s, actor} or {end: true, actor}, got ${describeType(raw)}`]);
  unknownFields(raw, ['until', 'for_s', 'reason', 'actor', 'end'], problems, '');
  if (raw.end !== undefined && raw.end !== null && typeof raw.end !== 'boolean') problems.push(`end must be true or false, got ${shortJson(raw.end)}`);
  const actor = parseActor(raw.actor, problems);
  if (raw.end === true) {
    for (const field of ['until', 'for_s', 'reason']) if (raw[field] !== undefined && raw[field] !== null) problems.push(`end: true takes no ${field}`);
    return done(problems, { end: true, actor });
  }
  const until = parseWindowEnd(raw, nowMs, problems);
  if (until === null && problems.length === 0) problems.push('a maintenance window needs its end: until (an ISO time) or for_s (seconds)');
  const reason = parseReason(raw.reason, problems, true);
  return done(problems, { end: false, until: until ?? '', reason, actor });
}

/** `resume` update, and the actor of a `refreshNow` update or `refresh` signal. */
export function parseActorRequest(raw: unknown): { actor: Actor } {
  const problems: string[] = [];
  if (raw === undefined || raw === null) return { actor: { user: 'unknown', identity: null } };
  if (!isObject(raw)) throw new ControlRequestError([`the request must be an object {actor}, got ${describeType(raw)}`]);
  unknownFields(raw, ['actor'], problems, '');
  const actor = parseActor(raw.actor, problems);
  return done(problems, { actor });
}

/** True while `window` holds at `nowMs`. */
export function windowActive(window: ControlWindow | null, nowMs: number): window is ControlWindow {
  return window !== null && (window.until === null || Date.parse(window.until) > nowMs);
}

/** Ms until the first active window ends, or null when none ends by itself. */
export function msUntilWindowEnds(controls: ClusterControls, nowMs: number): number | null {
  const ends = [controls.pause, controls.maintenance]
    .filter((window): window is ControlWindow => window !== null && window.until !== null)
    .map((window) => Math.max(0, Date.parse(window.until as string) - nowMs));
  return ends.length === 0 ? null : Math.min(...ends);
}

/** The values of a settings layer from outside (a stored document, a start input), keeping only valid ones. */
export function validSettingValues(raw: unknown): SettingValues {
  const values: SettingValues = {};
  if (!isObject(raw)) return values;
  for (const key of controlledSettings) if (settingValueProblem(key, raw[key]) === null) values[key] = raw[key] as number;
  return values;
}
