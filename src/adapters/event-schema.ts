/**
 * Validates events against the published JSON Schema (src/domain/event-json-schema.ts). Lives
 * outside the domain because ajv generates code at runtime, which the workflow sandbox must not
 * load. Used by the tests and available to the Kafka publisher.
 */
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fleetEventSchema } from '../domain/event-json-schema.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
    compiled = ajv.compile(fleetEventSchema);
  }
  return compiled;
}

/** What is wrong with `event` as a fleetview event (JSON pointer and message each), or [] when it is valid. */
export function eventSchemaProblems(event: unknown): string[] {
  const validate = validator();
  if (validate(event)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
}
