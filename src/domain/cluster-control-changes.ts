/**
 * What an operator's change does to a cluster's controls, and the audit events it emits. Pure and
 * workflow-safe: the cluster refresh workflow's update handlers parse a request
 * (cluster-controls.ts), apply it here and record the events; the time and generation come in
 * `AuditContext`, so a replay computes the same events.
 */
import {
  changedSettings,
  effectiveSettings,
  windowActive,
  type Actor,
  type ClusterControls,
  type ControlWindow,
  type DefaultsRequest,
  type EffectiveSettings,
  type MaintenanceRequest,
  type PauseRequest,
  type SettingLayers,
  type SettingValues,
  type SettingsRequest,
} from './cluster-controls.js';
import { controlEventId, envelope, type ControlEventCode, type EventDraft, type EventPayloads, type FleetEvent } from './event-catalogue.js';

/** What a cluster's settings and controls stand on: the operator's controls and the three layers' sources. */
export interface ControlState {
  controls: ClusterControls;
  /** The default layer: the worker's configuration when the workflow started, or the last `defaults` update. */
  defaults: SettingValues;
  /** The discovery's layer: the settings of the cluster's record. */
  discovery: SettingValues;
}

/** When and where an audit event happens: its timestamp, cluster and the generation it follows. */
export interface AuditContext {
  cluster_id: string;
  generation: number;
  now_ms: number;
}

/** A change applied: the state after it and its audit events (none: nothing changed). */
export interface ControlChange {
  state: ControlState;
  events: FleetEvent[];
}

export function settingLayers(state: ControlState): SettingLayers {
  return { default: state.defaults, discovery: { ...state.discovery }, operator: state.controls.operator };
}

export function settingsInEffect(state: ControlState): EffectiveSettings {
  return effectiveSettings(settingLayers(state));
}

/** Events raised while a maintenance window holds carry its mark (a window always has an end). */
export function markedForMaintenance(events: FleetEvent[], maintenance: ControlWindow | null, atMs: number): FleetEvent[] {
  if (!windowActive(maintenance, atMs) || maintenance.until === null) return events;
  const mark = { until: maintenance.until, reason: maintenance.reason };
  return events.map((event) => ({ ...event, maintenance: mark }));
}

/** An audit event of the cluster, numbered by the controls' next revision (its id names it). */
export function auditEvent<C extends ControlEventCode>(
  controls: ClusterControls,
  code: C,
  payload: EventPayloads[C],
  at: AuditContext,
): { controls: ClusterControls; event: FleetEvent } {
  const next = { ...controls, revision: controls.revision + 1 };
  const event = envelope({ event: code, node_id: null, payload } as EventDraft, {
    id: controlEventId(at.cluster_id, next.revision, code),
    cluster_id: at.cluster_id,
    generation: at.generation,
    timestamp: new Date(at.now_ms).toISOString(),
  });
  return { controls: next, event: markedForMaintenance([event], next.maintenance, at.now_ms)[0]! };
}

/** The change to `state` with its one audit event. */
function audited<C extends ControlEventCode>(state: ControlState, code: C, payload: EventPayloads[C], at: AuditContext): ControlChange {
  const { controls, event } = auditEvent(state.controls, code, payload, at);
  return { state: { ...state, controls }, events: [event] };
}

function settingsChange(before: ControlState, after: ControlState, actor: Actor, layer: 'operator' | 'default' | 'discovery', at: AuditContext): ControlChange {
  const changes = changedSettings(settingsInEffect(before), settingsInEffect(after));
  if (changes.length === 0) return { state: after, events: [] };
  return audited(after, 'CLUSTER_SETTINGS_CHANGED', { actor, layer, changes }, at);
}

/** `settings` update: the operator's layer takes `set` and drops `unset`. */
export function changeOperatorSettings(state: ControlState, request: SettingsRequest, at: AuditContext): ControlChange {
  const operator: SettingValues = { ...state.controls.operator, ...request.set };
  for (const key of request.unset) delete operator[key];
  return settingsChange(state, { ...state, controls: { ...state.controls, operator } }, request.actor, 'operator', at);
}

/** `defaults` update: the given defaults replace the ones of the default layer. */
export function changeDefaults(state: ControlState, request: DefaultsRequest, at: AuditContext): ControlChange {
  return settingsChange(state, { ...state, defaults: { ...state.defaults, ...request.defaults } }, request.actor, 'default', at);
}

/** Who changes the discovery's layer of the settings (a record's new settings). */
export const discoveryActor: Actor = { user: 'discovery', identity: null };

export function pauseCluster(state: ControlState, request: PauseRequest, at: AuditContext): ControlChange {
  const pause: ControlWindow = { since: new Date(at.now_ms).toISOString(), until: request.until, reason: request.reason, actor: request.actor };
  return audited({ ...state, controls: { ...state.controls, pause } }, 'CLUSTER_PAUSED', pause, at);
}

/** `resume` update: nothing to do when not paused. */
export function resumeCluster(state: ControlState, actor: Actor, at: AuditContext): ControlChange {
  const pause = state.controls.pause;
  if (!pause) return { state, events: [] };
  return audited({ ...state, controls: { ...state.controls, pause: null } }, 'CLUSTER_RESUMED', { window: pause, ended_by: actor, why: 'operator' }, at);
}

/** `maintenance` update: a window starts (or replaces the current one), or `end` ends the current one. */
export function changeMaintenance(state: ControlState, request: MaintenanceRequest, at: AuditContext): ControlChange {
  if (request.end) {
    const window = state.controls.maintenance;
    if (!window) return { state, events: [] };
    return audited({ ...state, controls: { ...state.controls, maintenance: null } }, 'CLUSTER_MAINTENANCE_ENDED', { window, ended_by: request.actor, why: 'operator' }, at);
  }
  const window: ControlWindow = { since: new Date(at.now_ms).toISOString(), until: request.until, reason: request.reason, actor: request.actor };
  return audited({ ...state, controls: { ...state.controls, maintenance: window } }, 'CLUSTER_MAINTENANCE_STARTED', window, at);
}

/** Ends the windows whose time has passed; their events name no actor. */
export function expireWindows(state: ControlState, at: AuditContext): ControlChange {
  let controls = state.controls;
  const events: FleetEvent[] = [];
  const pause = controls.pause;
  if (pause && !windowActive(pause, at.now_ms)) {
    const audited = auditEvent({ ...controls, pause: null }, 'CLUSTER_RESUMED', { window: pause, ended_by: null, why: 'expired' }, at);
    controls = audited.controls;
    events.push(audited.event);
  }
  const maintenance = controls.maintenance;
  if (maintenance && !windowActive(maintenance, at.now_ms)) {
    const audited = auditEvent({ ...controls, maintenance: null }, 'CLUSTER_MAINTENANCE_ENDED', { window: maintenance, ended_by: null, why: 'expired' }, at);
    controls = audited.controls;
    events.push(audited.event);
  }
  return { state: { ...state, controls }, events };
}

/** One line per window, for the workflow's current details. */
export function describeWindow(window: ControlWindow): string {
  return `since ${window.since}${window.until ? ` until ${window.until}` : ''} by ${window.actor.user}: ${window.reason}`;
}

/** The maintenance window and the operator's overrides, as paragraphs after the view's details ('' when neither). */
export function describeControls(controls: ClusterControls, nowMs: number): string {
  const lines: string[] = [];
  if (windowActive(controls.maintenance, nowMs)) {
    const window = controls.maintenance;
    lines.push(`in maintenance until ${window.until ?? '-'} (by ${window.actor.user}: ${window.reason})`);
  }
  const overrides = Object.entries(controls.operator).map(([key, value]) => `${key}=${value}`);
  if (overrides.length > 0) lines.push(`operator settings: ${overrides.join(', ')}`);
  return lines.length === 0 ? '' : `\n\n${lines.join('\n\n')}`;
}
