/**
 * The README's "Bad input at every door" table, read so that the tests trying each row check
 * what the table says: a row is found by its door and value cells, and the first `code span`
 * of its answer is what the door must actually answer (`aaaa...` stands for a cut 10 KB value).
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

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Bad input at every door'));
const rows: DoorRow[] = section
  .slice(0, section.indexOf('\n## ', 3))
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| door |'))
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

/** The README row of `door` (its cell, backticks included) and `value`. */
export function doorRow(door: string, value: string): DoorRow {
  const row = rows.find((candidate) => candidate.door === door && candidate.value === value);
  assert.ok(row, `README "Bad input at every door" has no row | ${door} | ${value} |`);
  return row;
}

/** Checks an actual answer against the README row: taken or refused, its exit code, its quoted fragment. */
export function assertDoorAnswer(door: string, value: string, actual: { text: string; exit?: number | null; accepted: boolean }): void {
  const row = doorRow(door, value);
  const where = `README row | ${door} | ${value} |`;
  assert.equal(actual.accepted, row.accepted, `${where}: ${row.accepted ? 'refused' : 'taken'}, the README says otherwise\n${actual.text}`);
  if (row.exit !== null && actual.exit !== undefined) assert.equal(actual.exit, row.exit, `${where}: exit code\n${actual.text}`);
  if (row.fragment) assert.match(actual.text, row.fragment, `${where}: the answer does not say what the README says`);
}

/** Every row of the table whose door starts with `prefix`, for a check that none is left untried. */
export function doorRows(prefix: string): DoorRow[] {
  return rows.filter((row) => row.door.startsWith(prefix));
}
