/**
 * The "Bad input at every door" table of docs/reference/bad-input.md, read so that the tests
 * trying each row check what the table says: a row is found by its door and value cells, and
 * the first `code span` of its answer is what the door must actually answer (`aaaa...` stands
 * for a cut 10 KB value).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export interface DoorRow {
  door: string;
  value: string;
  answer: string;
  /** The exit code the answer starts with (`exit 2: ...`), if it does. */
  exit: number | null;
  /** The first code span of the answer as a pattern; null when the answer quotes nothing. */
  fragment: RegExp | null;
  /** The value is taken (`exit 0`, `accepted`, `dropped` keys, `the refresh's report`), not refused. */
  accepted: boolean;
}

const doc = readFileSync(new URL('../../docs/reference/bad-input.md', import.meta.url), 'utf8');
// The table runs from its header row to the first line that is not a table row.
const lines = doc.split('\n');
const header = lines.findIndex((line) => line.startsWith('| door |'));
assert.ok(header >= 0, 'docs/reference/bad-input.md has no "| door |" table');
const end = lines.findIndex((line, index) => index > header && !line.startsWith('|'));
const rows: DoorRow[] = lines
  .slice(header + 2, end === -1 ? undefined : end)
  .filter((line) => line.startsWith('| '))
  .map((line) => {
    const [door = '', value = '', answer = ''] = line
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim());
    const span = /`([^`]+)`/.exec(answer)?.[1];
    const fragment = span === undefined ? null : new RegExp(span.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/aaaa\\\.\\\.\\\./g, 'a+\\.\\.\\.'));
    const exit = /^exit (\d)/.exec(answer)?.[1];
    const accepted = /^(exit 0|accepted|dropped|the refresh's report)/.test(answer);
    return { door, value, answer, exit: exit === undefined ? null : Number(exit), fragment, accepted };
  });

/** The table's row of `door` (its cell, backticks included) and `value`. */
export function doorRow(door: string, value: string): DoorRow {
  const row = rows.find((candidate) => candidate.door === door && candidate.value === value);
  assert.ok(row, `docs/reference/bad-input.md has no row | ${door} | ${value} |`);
  return row;
}

/** Checks an actual answer against the table's row: taken or refused, its exit code, its quoted fragment. */
export function assertDoorAnswer(door: string, value: string, actual: { text: string; exit?: number | null; accepted: boolean }): void {
  const row = doorRow(door, value);
  const where = `docs/reference/bad-input.md row | ${door} | ${value} |`;
  assert.equal(actual.accepted, row.accepted, `${where}: ${row.accepted ? 'refused' : 'taken'}, the table says otherwise\n${actual.text}`);
  if (row.exit !== null && actual.exit !== undefined) assert.equal(actual.exit, row.exit, `${where}: exit code\n${actual.text}`);
  if (row.fragment) assert.match(actual.text, row.fragment, `${where}: the answer does not say what the table says`);
}

/** Every row of the table whose door starts with `prefix`, for a check that none is left untried. */
export function doorRows(prefix: string): DoorRow[] {
  return rows.filter((row) => row.door.startsWith(prefix));
}
