/**
 * Timestamps travel as ISO 8601 strings (workflow time passed in by the caller): the domain
 * never reads a clock. Parsing a given string is pure, so it is safe in the workflow sandbox.
 */

export function isoToMillis(iso: string): number {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new Error(`invalid ISO 8601 timestamp ${JSON.stringify(iso)}`);
  return millis;
}

/** Milliseconds from `fromIso` to `toIso` (negative when `toIso` is earlier). */
export function millisBetween(fromIso: string, toIso: string): number {
  return isoToMillis(toIso) - isoToMillis(fromIso);
}
