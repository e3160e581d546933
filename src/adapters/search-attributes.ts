/**
 * The custom search attributes fleetview's workflows set, and their registration on the
 * namespace: a workflow that upserts an attribute its namespace lacks fails its workflow task,
 * so `fleetview start` adds the missing ones (through the operator service of the client's
 * connection) before any cluster workflow needs them.
 */
import type { Client } from '@temporalio/client';
import { customSearchAttributes } from '../workflows/messages.js';

/** The type names operators type (`temporal operator search-attribute create --type`), by the SDK's type. */
const typeNames = { KEYWORD: 'Keyword', BOOL: 'Bool' } as const;
type AttributeType = (typeof typeNames)[keyof typeof typeNames];

/** Every custom search attribute fleetview's workflows set, with its type (defined in workflows/messages.ts). */
export const fleetviewSearchAttributes: Readonly<Record<string, AttributeType>> = Object.fromEntries(
  customSearchAttributes.map((key) => [key.name, typeNames[key.type]]),
);
export type FleetviewSearchAttribute = (typeof customSearchAttributes)[number]['name'];

/** The values of temporal.api.enums.v1.IndexedValueType (the proto's enum: the wire's numbers). */
const indexedValueTypes: Record<number, string> = { 1: 'Text', 2: 'Keyword', 3: 'Int', 4: 'Double', 5: 'Bool', 6: 'Datetime', 7: 'KeywordList' };
const indexedValueOf: Record<AttributeType, number> = { Keyword: 2, Bool: 5 };

export interface SearchAttributesOutcome {
  /** Already registered with the right type. */
  present: FleetviewSearchAttribute[];
  /** Added by this call. */
  added: FleetviewSearchAttribute[];
}

/** Registering failed, or an attribute exists with another type: names them and what to do. */
export class SearchAttributesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchAttributesError';
  }
}

function createCommands(namespace: string, names: readonly FleetviewSearchAttribute[]): string {
  return names.map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${fleetviewSearchAttributes[name]}`).join('\n  ');
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);

/**
 * Adds the attributes of `fleetviewSearchAttributes` the namespace lacks; leaves the others.
 * Throws SearchAttributesError naming them when the server refuses, or when one exists with
 * another type (a workflow's upsert of it would fail).
 */
export async function ensureSearchAttributes(client: Pick<Client, 'connection'>, namespace: string): Promise<SearchAttributesOutcome> {
  const operator = client.connection.operatorService;
  const listed = await operator.listSearchAttributes({ namespace });
  const existing = new Map<string, number>();
  for (const attributes of [listed.systemAttributes, listed.customAttributes]) for (const [name, type] of Object.entries(attributes ?? {})) existing.set(name, Number(type));

  const names = Object.keys(fleetviewSearchAttributes);
  const wrongType = names.filter((name) => existing.has(name) && existing.get(name) !== indexedValueOf[fleetviewSearchAttributes[name]!]);
  if (wrongType.length > 0) {
    throw new SearchAttributesError(
      `namespace ${namespace} has ${wrongType.map((name) => `${name} as ${indexedValueTypes[existing.get(name)!] ?? `type ${existing.get(name)}`}`).join(', ')}; fleetview needs ${wrongType.map((name) => `${name} as ${fleetviewSearchAttributes[name]}`).join(', ')} (a search attribute's type cannot change: use another namespace, or remove it and run fleetview start again)`,
    );
  }
  const missing = names.filter((name) => !existing.has(name));
  const present = names.filter((name) => existing.has(name));
  if (missing.length === 0) return { present, added: [] };

  const searchAttributes = Object.fromEntries(missing.map((name) => [name, indexedValueOf[fleetviewSearchAttributes[name]!]]));
  try {
    await operator.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    // Another `fleetview start` may have added them meanwhile ("already exists"): that is done too.
    const again = await operator.listSearchAttributes({ namespace }).catch(() => null);
    if (again && missing.every((name) => Number(again.customAttributes?.[name]) === indexedValueOf[fleetviewSearchAttributes[name]!])) return { present: names, added: [] };
    throw new SearchAttributesError(
      `namespace ${namespace} lacks the search attributes ${missing.map((name) => `${name} (${fleetviewSearchAttributes[name]})`).join(', ')} and Temporal refused to add them: ${firstLine(err)}\n` +
        `  cluster workflows fail their tasks without them; an operator with the rights adds them:\n  ${createCommands(namespace, missing)}\n` +
        `  (Temporal Cloud: tcld namespace search-attributes add, or the Cloud UI)`,
    );
  }
  return { present, added: missing };
}
