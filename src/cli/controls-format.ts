/** A cluster's controls as operators read them: pause, maintenance, and each setting with its source. */
import { controlledSettings, windowActive, type Actor, type ControlWindow, type ControlledSetting } from '../domain/cluster-controls.js';
import type { ControlsState } from '../workflows/messages.js';
import { flagOf, formatSetting } from './durations.js';
import { relativeTime, table } from './format.js';

function actorText(actor: Actor): string {
  return actor.identity ? `${actor.user} (${actor.identity})` : actor.user;
}

/** `until 2026-12-02T18:00:00.000Z (in 2h), since 5m ago, by alice: disk swap`, or `no`. */
export function windowText(window: ControlWindow | null, nowMs: number, openEnd: string): string {
  if (window === null) return 'no';
  const { until, reason } = window;
  const end = window.until === null ? openEnd : `until ${window.until} (${relativeTime(window.until, nowMs)})`;
  const text = `${end}, since ${relativeTime(window.since, nowMs)}, by ${actorText(window.actor)}: ${window.reason}`;
  // A stored window past its end stays in the store until its workflow clears it.
  return windowActive(window, nowMs) ? text : `no (ended ${relativeTime(until, nowMs)}: ${reason})`;
}

/** The short form of a list's column: `until in 2h`, `yes`, `-`. */
export function windowCell(window: ControlWindow | null, nowMs: number): string {
  if (!windowActive(window, nowMs)) return '-';
  return window.until === null ? 'yes' : `until ${relativeTime(window.until, nowMs)}`;
}

function valueText(setting: ControlledSetting, value: number | undefined | null): string {
  return value === undefined || value === null ? '-' : formatSetting(setting, value);
}

/** One row per setting: the value in effect, the layer it came from, and every layer's value. */
export function settingsTable(state: Pick<ControlsState, 'settings' | 'layers'>, marks: Partial<Record<ControlledSetting, string>> = {}): string {
  return table(
    ['SETTING', 'VALUE', 'FROM', 'OPERATOR', 'DISCOVERY', 'DEFAULT', ''],
    controlledSettings.map((setting) => {
      const effective = state.settings[setting];
      return [
        flagOf(setting).flag,
        effective.value === null ? "worker's default" : formatSetting(setting, effective.value),
        effective.source ?? '-',
        valueText(setting, state.layers.operator[setting]),
        valueText(setting, state.layers.discovery[setting]),
        valueText(setting, state.layers.default[setting]),
        marks[setting] ?? '',
      ];
    }),
  );
}

/** The controls block `cluster show` prints first. */
export function renderControls(state: ControlsState, source: string, nowMs = Date.now()): string {
  return [
    `paused       ${windowText(state.pause, nowMs, 'until resumed')}`,
    `maintenance  ${windowText(state.maintenance, nowMs, 'until ended')}`,
    `controls     revision ${state.revision}, from ${source}`,
    '',
    settingsTable(state),
  ].join('\n');
}
