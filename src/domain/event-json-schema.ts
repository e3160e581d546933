/**
 * The published JSON Schema (draft-07) of the event envelope and of every payload, as a plain
 * object: the domain stays free of validator libraries (it runs in the workflow sandbox);
 * src/adapters/event-schema.ts compiles it with ajv. Objects are closed
 * (`additionalProperties: false`), so a field added to a type without the schema fails the tests.
 */
import { clusterStatuses } from './cluster-view.js';
import { controlledSettings } from './cluster-controls.js';
import { controlEventCodes, discoveryScopedCodes, eventCategories, eventCategoryByCode, eventCodes, eventSchemaVersion } from './event-catalogue.js';
import type { EventCode } from './event-catalogue.js';
import { clusterIdPattern } from './ids.js';
import { nodeStatusCodes } from './observation.js';

export type JsonSchema = { readonly [keyword: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const string: JsonSchema = { type: 'string' };
const nonEmptyString: JsonSchema = { type: 'string', minLength: 1 };

/** A closed object; every property is required unless named in `optional`. */
function object(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
    properties,
  };
}

const agentInfoProperties = {
  version: object({ checkout: string, number: string, taint: string }),
};
const datastoreInfoProperties = {
  cluster_id: string,
  node_id: string,
  kind: string,
  version: string,
  cluster_display_name: nullable(string),
};
const shardProperties = {
  id: string,
  role: ref('shard_role'),
  commit_offset: nullable(ref('offset')),
  lag: nullable(ref('offset')),
};
const address = ref('agent_address');

const sharedDefinitions: Record<string, JsonSchema> = {
  timestamp: { type: 'string', format: 'date-time' },
  agent_address: { type: 'string', minLength: 1, maxLength: 2048 },
  cluster_id: { type: 'string', pattern: clusterIdPattern.source },
  cluster_status: { enum: [...clusterStatuses] },
  node_status: object({ code: { enum: [...nodeStatusCodes] }, reason: string }, ['reason']),
  agent_info: object(agentInfoProperties),
  datastore_info: object(datastoreInfoProperties),
  offset: object({
    unit: { anyOf: [{ const: 'seconds' }, object({ unit: string })] },
    value: { type: 'integer' },
  }),
  shard_role: { anyOf: [{ enum: ['primary', 'secondary'] }, object({ unknown: string })] },
  shard: object(shardProperties),
  node_ref: object({ address, node_id: nullable(string) }),
  discovery_record: object({
    cluster_id: ref('cluster_id'),
    display_name: nullable(string),
    nodes: {
      type: 'array',
      items: object({ agent_address: address, node_id: string, node_class: string, node_group: string }, [
        'node_id',
        'node_class',
        'node_group',
      ]),
    },
    settings: object({ refresh_interval_s: { type: 'integer', minimum: 1 }, agent_timeout_ms: { type: 'integer', minimum: 1 } }, ['refresh_interval_s', 'agent_timeout_ms']),
  }, ['settings']),
  actor: object({ user: nonEmptyString, identity: nullable(string) }),
  control_window: object({ since: ref('timestamp'), until: nullable(ref('timestamp')), reason: string, actor: ref('actor') }),
  effective_setting: object({ value: nullable({ type: 'integer' }), source: nullable({ enum: ['default', 'discovery', 'operator'] }) }),
  window_ended: object({ window: ref('control_window'), ended_by: nullable(ref('actor')), why: { enum: ['operator', 'expired'] } }),
  discovery_applied: object({ actor: ref('actor'), discovery: nonEmptyString, before: nullable({ type: 'object' }), after: nullable({ type: 'object' }) }),
  discovery_paused: object({ actor: ref('actor'), discovery: nonEmptyString, reason: string, until: nullable(ref('timestamp')), clusters: { type: 'integer', minimum: 0 } }),
  status_changed: object({ address, before: nullable(ref('node_status')), after: ref('node_status') }),
  shard_allocation: object({ address, ...shardProperties }),
  shard_primary: object({
    shard_id: string,
    before: { type: 'array', items: ref('node_ref') },
    after: { type: 'array', items: ref('node_ref') },
  }),
};

/** The payload schema of each event code. */
export const eventPayloadSchemas: Record<EventCode, JsonSchema> = {
  CLUSTER_NEW: ref('discovery_record'),
  CLUSTER_CHANGED: object({ before: ref('discovery_record'), after: ref('discovery_record') }),
  CLUSTER_STATUS_CHANGED: object({ before: nullable(ref('cluster_status')), after: ref('cluster_status') }),
  CLUSTER_RETIRED: object({ cluster_id: ref('cluster_id'), last_record: nullable(ref('discovery_record')) }),
  AGENT_NEW: object({ address, status: ref('node_status') }),
  AGENT_UP: ref('status_changed'),
  AGENT_DOWN: ref('status_changed'),
  AGENT_INFO_NEW: object({ address, ...agentInfoProperties }),
  AGENT_INFO_CHANGED: object({ address, before: ref('agent_info'), after: ref('agent_info') }),
  NODE_NEW: object({ address, ...datastoreInfoProperties }),
  NODE_CHANGED: object({ address, before: ref('datastore_info'), after: ref('datastore_info') }),
  NODE_UP: ref('status_changed'),
  NODE_DOWN: ref('status_changed'),
  NODE_RETIRED: object({ address, left_discovery_at: ref('timestamp'), last_status: ref('node_status') }),
  SHARD_ALLOCATION_NEW: ref('shard_allocation'),
  SHARD_ALLOCATION_CHANGED: object({ address, before: ref('shard'), after: ref('shard') }),
  SHARD_ALLOCATION_REMOVED: ref('shard_allocation'),
  SHARD_PRIMARY_CHANGED: ref('shard_primary'),
  SHARD_PRIMARY_LOST: ref('shard_primary'),
  SHARD_PRIMARY_CONFLICT: ref('shard_primary'),
  CLUSTER_SETTINGS_CHANGED: object({
    actor: ref('actor'),
    layer: { enum: ['default', 'discovery', 'operator'] },
    changes: {
      type: 'array',
      minItems: 1,
      items: object({ setting: { enum: [...controlledSettings] }, before: ref('effective_setting'), after: ref('effective_setting') }),
    },
  }),
  CLUSTER_PAUSED: ref('control_window'),
  CLUSTER_RESUMED: ref('window_ended'),
  CLUSTER_MAINTENANCE_STARTED: ref('control_window'),
  CLUSTER_MAINTENANCE_ENDED: ref('window_ended'),
  CLUSTER_REFRESH_REQUESTED: object({ actor: ref('actor'), wait: { type: 'boolean' } }),
  DISCOVERY_APPLIED: ref('discovery_applied'),
  DISCOVERY_DELETED: ref('discovery_applied'),
  DISCOVERY_PAUSED: ref('discovery_paused'),
  DISCOVERY_RESUMED: ref('discovery_paused'),
  RETIREMENT_HOLD_RELEASED: object({ actor: ref('actor'), discovery: nonEmptyString, released: { type: 'integer', minimum: 0 } }),
};

const discoveryCodes: readonly EventCode[] = ['CLUSTER_NEW', 'CLUSTER_CHANGED', 'CLUSTER_RETIRED'];
const controlCodes: readonly EventCode[] = controlEventCodes;
const aboutDiscoveryCodes: readonly EventCode[] = discoveryScopedCodes;
const clusterScopedCodes: readonly EventCode[] = [
  ...discoveryCodes,
  ...controlCodes,
  ...aboutDiscoveryCodes,
  'CLUSTER_STATUS_CHANGED',
  'SHARD_PRIMARY_CHANGED',
  'SHARD_PRIMARY_LOST',
  'SHARD_PRIMARY_CONFLICT',
];

/** What each code fixes in the envelope beyond its payload: category, node_id, generation, id. */
function envelopeRulesFor(code: EventCode): JsonSchema {
  const discovery = discoveryCodes.includes(code);
  const control = controlCodes.includes(code);
  const aboutDiscovery = aboutDiscoveryCodes.includes(code);
  const properties: Record<string, JsonSchema> = {
    category: { const: eventCategoryByCode[code] },
    payload: ref(`payload_${code}`),
    generation: discovery || aboutDiscovery ? { const: 0 } : control ? { type: 'integer', minimum: 0 } : { type: 'integer', minimum: 1 },
    id: discovery
      ? { type: 'string', pattern: `^[^/]+/discovery/[^/]+/${code}$` }
      : control
        ? { type: 'string', pattern: `^[^/]+/control/[1-9][0-9]*/${code}$` }
        : aboutDiscovery
          ? { type: 'string', pattern: `^discovery/[^/]+/[^/]+/${code}$` }
          : { type: 'string', pattern: '^[^/]+/[1-9][0-9]*/(0|[1-9][0-9]*)$' },
    cluster_id: aboutDiscovery ? { type: 'null' } : ref('cluster_id'),
  };
  if (clusterScopedCodes.includes(code)) properties.node_id = { type: 'null' };
  return { if: { type: 'object', required: ['event'], properties: { event: { const: code } } }, then: { type: 'object', properties } };
}

/** The schema of any event: the envelope, then per code its payload and envelope rules. */
export const fleetEventSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `urn:fleetview:event:${eventSchemaVersion}`,
  title: 'fleetview event',
  ...object({
    id: nonEmptyString,
    category: { enum: [...eventCategories] },
    event: { enum: [...eventCodes] },
    cluster_id: nullable(ref('cluster_id')),
    node_id: nullable(nonEmptyString),
    generation: { type: 'integer', minimum: 0 },
    timestamp: ref('timestamp'),
    schema: { const: eventSchemaVersion },
    payload: { type: 'object' },
    maintenance: object({ until: ref('timestamp'), reason: string }),
  }, ['maintenance']),
  allOf: eventCodes.map(envelopeRulesFor),
  definitions: {
    ...sharedDefinitions,
    ...Object.fromEntries(eventCodes.map((code) => [`payload_${code}`, eventPayloadSchemas[code]])),
  },
};
