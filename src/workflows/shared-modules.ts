/**
 * The modules every workflow of this worker shares: loaded once into the workflow sandbox (the
 * worker's bundlerOptions.preloadModules), before any workflow runs. Without it the SDK, which
 * reuses one V8 context, evaluates every module a workflow imports once per workflow: each
 * cached cluster workflow held its own copy of the domain's functions and tables.
 *
 * Listed: every src/domain module in the workflow bundle (test/unit/shared-modules.test.ts checks).
 * Only pure modules belong here (src/domain: no I/O, no workflow API, no state of their own).
 * Their exported objects and arrays are frozen at load, so a workflow that changed one, which
 * would leak into every other workflow, fails at once instead.
 */
import * as aggregate from '../domain/aggregate.js';
import * as canonicalForms from '../domain/canonical-forms.js';
import * as clusterControlChanges from '../domain/cluster-control-changes.js';
import * as clusterControls from '../domain/cluster-controls.js';
import * as diff from '../domain/diff.js';
import * as discoveryEvents from '../domain/discovery-events.js';
import * as discoveryRecord from '../domain/discovery-record.js';
import * as eventCatalogue from '../domain/event-catalogue.js';
import * as ids from '../domain/ids.js';
import * as isoTime from '../domain/iso-time.js';
import * as materialView from '../domain/material-view.js';
import * as observationDelta from '../domain/observation-delta.js';
import * as refreshCycle from '../domain/refresh-cycle.js';
import * as refreshSlots from '../domain/refresh-slots.js';
import * as retirementGuard from '../domain/retirement-guard.js';
import * as statusTransitions from '../domain/status-transitions.js';
import * as text from '../domain/text.js';
import * as viewPage from '../domain/view-page.js';

/** By the module's file name, as the bundle names it. */
const sharedModules: Record<string, object> = {
  'aggregate': aggregate,
  'canonical-forms': canonicalForms,
  'cluster-control-changes': clusterControlChanges,
  'cluster-controls': clusterControls,
  'diff': diff,
  'discovery-events': discoveryEvents,
  'discovery-record': discoveryRecord,
  'event-catalogue': eventCatalogue,
  'ids': ids,
  'iso-time': isoTime,
  'material-view': materialView,
  'observation-delta': observationDelta,
  'refresh-cycle': refreshCycle,
  'refresh-slots': refreshSlots,
  'retirement-guard': retirementGuard,
  'status-transitions': statusTransitions,
  'text': text,
  'view-page': viewPage,
};

/** Freezes plain objects and arrays, deeply; leaves functions, regular expressions (their lastIndex) and class instances alone. */
function freezeData(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return;
  Object.freeze(value);
  for (const item of Object.values(value)) freezeData(item);
}

for (const exports of Object.values(sharedModules)) for (const value of Object.values(exports)) freezeData(value);

/** The shared modules' file names, without extension (for the test). */
export const sharedModuleNames = Object.keys(sharedModules);
