/**
 * A cluster's operator controls inside its refresh workflow: the settings' layers, pause and
 * maintenance windows, their update handlers, their audit events and their recording. What a
 * change does is pure (domain/cluster-control-changes.ts); this module holds the run's controls,
 * registers the updates and records every change (audit events out, controls stored) in order.
 */
import { ApplicationFailure, condition, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import {
  auditEvent,
  changeDefaults,
  changeMaintenance,
  changeOperatorSettings,
  describeControls,
  discoveryActor,
  expireWindows,
  pauseCluster,
  resumeCluster,
  settingLayers,
  settingsInEffect,
  type AuditContext,
  type ControlChange,
  type ControlState,
} from '../domain/cluster-control-changes.js';
import {
  ControlRequestError,
  changedSettings,
  msUntilWindowEnds,
  noControls,
  parseActorRequest,
  parseDefaultsRequest,
  parseMaintenanceRequest,
  parsePauseRequest,
  parseSettingsRequest,
  windowActive,
  type Actor,
  type ClusterControls,
  type EffectiveSettings,
  type SettingValues,
} from '../domain/cluster-controls.js';
import type { ControlEventCode, EventPayloads, FleetEvent } from '../domain/event-catalogue.js';
import { createControlRecorder } from './control-recorder.js';
import {
  defaultsUpdate,
  maintenanceSearchAttribute,
  maintenanceUpdate,
  pausedSearchAttribute,
  pauseUpdate,
  resumeUpdate,
  settingsUpdate,
  type ControlsResult,
  type ControlsState,
} from './messages.js';
import { recordWaitMs } from './refresh-activities.js';

/** What the controls need of their run. */
export interface ControlledRun {
  /** False for runs started before operator controls (they replay without them). */
  usesControls: boolean;
  clusterId(): string;
  /** The discovery's layer: the settings of the cluster's current record. */
  discoverySettings(): SettingValues;
  /** The generation of the last completed refresh (audit events carry it). */
  generation(): number;
  retirement(): { reason: string } | null;
  /** A resume asks for a refresh at once: what changed while paused is refreshed. */
  requestRefresh(): void;
}

export interface OperatorControls {
  controls(): ClusterControls;
  /** The default layer: the worker's configuration at start, or the last `defaults` update. */
  defaults(): SettingValues;
  effective(): EffectiveSettings;
  state(): ControlsState;
  paused(): boolean;
  /** Bumped by every change of controls or settings: the loop times its next slot anew when it moves. */
  version(): number;
  /** Records `CLUSTER_REFRESH_REQUESTED` for a refresh an operator asked for by name. */
  refreshRequestedBy(actor: Actor | null, wait: boolean): void;
  /** A new record's settings changed the effective ones (`before`: as they were): audited as the discovery's change. */
  discoverySettingsChanged(before: EffectiveSettings): void;
  /** Ends the windows whose time has passed (their events name no actor). */
  expireEndedWindows(): void;
  /** Writes the controls again when the store has not taken them and nothing else is recording. */
  retryOwed(): void;
  /** Ms until the first window ends by itself (`pauseOnly`: the pause's), or null. */
  msUntilWindowEnds(nowMs: number, pauseOnly?: boolean): number | null;
  /** The maintenance window and the operator's overrides, for the workflow's current details. */
  describe(nowMs: number): string;
  /** A new run's controls read from the store (null: none stored): changes wait for this. */
  loaded(stored: ClusterControls | null): void;
  /** Registers the operator's updates (settings, defaults, pause, resume, maintenance). */
  registerUpdates(): void;
  /** Recordings started and not finished: continue-as-new and completion wait for none. */
  recordingsInFlight(): number;
  /** What a continued run takes on (null for runs before controls). */
  handover(): { controls: ClusterControls; owed: boolean } | null;
}

export function createOperatorControls(
  run: ControlledRun,
  start: { controls: ClusterControls | undefined; owed: boolean | undefined; defaults: SettingValues; loaded: boolean },
): OperatorControls {
  const { usesControls } = run;
  let controls = start.controls ?? noControls;
  let owed = start.owed ?? false;
  let defaults = start.defaults;
  let version = 0;
  // A new run reads the stored controls with its resume point; changes wait for them, so their
  // revision (and their events' ids) goes on from the stored one.
  let loaded = start.loaded;

  const controlState = (): ControlState => ({ controls, defaults, discovery: run.discoverySettings() });
  const effective = () => settingsInEffect(controlState());
  const auditContext = (): AuditContext => ({ cluster_id: run.clusterId(), generation: run.generation(), now_ms: Date.now() });
  const recorder = createControlRecorder({ clusterId: () => run.clusterId(), controls: () => controls, setOwed: (stillOwed) => (owed = stillOwed) });

  function state(): ControlsState {
    return { cluster_id: run.clusterId(), settings: effective(), layers: settingLayers(controlState()), pause: controls.pause, maintenance: controls.maintenance, revision: controls.revision };
  }

  /** Takes the state a change leaves; returns its audit events for the caller to record. */
  function adopt(change: ControlChange): FleetEvent[] {
    controls = change.state.controls;
    defaults = change.state.defaults;
    return change.events;
  }

  /** An audit event numbered now (for changes recorded once the stored controls are in). */
  function audit<C extends ControlEventCode>(code: C, payload: EventPayloads[C]): FleetEvent {
    const made = auditEvent(controls, code, payload, auditContext());
    controls = made.controls;
    return made.event;
  }

  function syncSearchAttributes(): void {
    const info = workflowInfo().typedSearchAttributes;
    const pausedNow = windowActive(controls.pause, Date.now());
    const maintenanceNow = windowActive(controls.maintenance, Date.now());
    const updates = [];
    if ((info.get(pausedSearchAttribute) ?? false) !== pausedNow) updates.push({ key: pausedSearchAttribute, value: pausedNow });
    if ((info.get(maintenanceSearchAttribute) ?? false) !== maintenanceNow) updates.push({ key: maintenanceSearchAttribute, value: maintenanceNow });
    if (updates.length > 0) upsertSearchAttributes(updates);
  }

  /** Applies a change made by `change` (which returns its audit events), then records it, waiting a bounded time. */
  async function applyControl(change: () => FleetEvent[]): Promise<ControlsResult> {
    await condition(() => loaded);
    const events = change();
    if (events.length === 0) return { ...state(), changed: false, recorded: !owed };
    version += 1;
    syncSearchAttributes();
    let finished = false;
    void recorder.record(events).then(() => (finished = true));
    const recorded = await condition(() => finished, recordWaitMs);
    return { ...state(), changed: true, recorded: recorded && !owed };
  }

  /** What a rejected operator request says: an ApplicationFailure the client shows as is. */
  function rejectRequest(err: unknown): never {
    if (err instanceof ControlRequestError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidArgument', { problems: err.problems });
    throw err;
  }

  function checkControllable(): void {
    if (!usesControls) throw ApplicationFailure.nonRetryable('this run started before operator controls; it continues as new soon, try again then', 'NotYet');
    const retirement = run.retirement();
    if (retirement) throw ApplicationFailure.nonRetryable(`the cluster was retired: ${retirement.reason}`, 'Retired');
  }

  /**
   * An operator's update: `parse` checks the request in the validator (a bad one is refused and
   * nothing is recorded) and again in the handler, where `apply` changes the controls and returns
   * the audit events (none: nothing changed).
   */
  function controlUpdate<Args extends [unknown], Request>(
    definition: UpdateDefinition<ControlsResult, Args>,
    parse: (raw: unknown) => Request,
    apply: (request: Request) => FleetEvent[],
  ): void {
    // The request is checked by `parse`, not trusted for its declared type: it comes from outside.
    setHandler(definition as unknown as UpdateDefinition<ControlsResult, [unknown]>, (raw: unknown) => applyControl(() => apply(parse(raw))), {
      validator: (raw: unknown) => {
        checkControllable();
        try {
          parse(raw);
        } catch (err) {
          rejectRequest(err);
        }
      },
    });
  }

  return {
    controls: () => controls,
    defaults: () => defaults,
    effective,
    state,
    paused: () => usesControls && windowActive(controls.pause, Date.now()),
    version: () => version,

    refreshRequestedBy(actor, wait) {
      if (!usesControls || actor === null) return;
      recorder.recordWhen(() => loaded, () => [audit('CLUSTER_REFRESH_REQUESTED', { actor, wait })]);
    },

    discoverySettingsChanged(before) {
      const changes = changedSettings(before, effective());
      if (!usesControls || changes.length === 0) return;
      version += 1;
      recorder.recordWhen(() => loaded, () => [audit('CLUSTER_SETTINGS_CHANGED', { actor: discoveryActor, layer: 'discovery', changes })]);
    },

    expireEndedWindows() {
      if (!usesControls) return;
      const events = adopt(expireWindows(controlState(), auditContext()));
      if (events.length === 0) return;
      version += 1;
      syncSearchAttributes();
      void recorder.record(events);
    },

    retryOwed() {
      if (owed && recorder.inFlight() === 0) void recorder.record([]);
    },

    msUntilWindowEnds(nowMs, pauseOnly = false) {
      return msUntilWindowEnds(pauseOnly ? { ...controls, maintenance: null } : controls, nowMs);
    },

    describe: (nowMs) => describeControls(controls, nowMs),

    loaded(stored) {
      // The operator's controls outlive the workflow: a pause or an override set before it was
      // terminated (or retired and listed again) still holds.
      if (usesControls && stored) {
        controls = stored;
        syncSearchAttributes();
      }
      loaded = true;
    },

    registerUpdates() {
      controlUpdate(settingsUpdate, parseSettingsRequest, (request) => adopt(changeOperatorSettings(controlState(), request, auditContext())));
      controlUpdate(defaultsUpdate, parseDefaultsRequest, (request) => adopt(changeDefaults(controlState(), request, auditContext())));
      controlUpdate(
        pauseUpdate,
        (raw) => parsePauseRequest(raw, Date.now()),
        (request) => adopt(pauseCluster(controlState(), request, auditContext())),
      );
      controlUpdate(resumeUpdate, parseActorRequest, ({ actor }) => {
        const events = adopt(resumeCluster(controlState(), actor, auditContext()));
        // What changed while paused is refreshed at once.
        if (events.length > 0) run.requestRefresh();
        return events;
      });
      controlUpdate(
        maintenanceUpdate,
        (raw) => parseMaintenanceRequest(raw, Date.now()),
        (request) => adopt(changeMaintenance(controlState(), request, auditContext())),
      );
    },

    recordingsInFlight: () => recorder.inFlight(),
    handover: () => (usesControls ? { controls, owed } : null),
  };
}
