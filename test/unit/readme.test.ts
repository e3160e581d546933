// The documentation must stay true to the code: the configuration table of
// docs/reference/configuration.md to src/config.ts, and the README must give the two commands.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { settings } from '../../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const configurationDoc = readFileSync(new URL('../../docs/reference/configuration.md', import.meta.url), 'utf8');

function documentedDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

it('docs/reference/configuration.md documents every setting with its file key and default', () => {
  for (const s of settings) {
    const row = configurationDoc.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
    assert.ok(row, `docs/reference/configuration.md has no row for ${s.env}`);
    const [, , key, byDefault] = row.split('|').map((cell) => cell.trim());
    assert.equal(key, `\`${s.key}\``, `${s.env}: file key`);
    assert.ok(byDefault?.startsWith(documentedDefault(s.default)), `${s.env}: docs/reference/configuration.md says ${byDefault}, config.ts ${documentedDefault(s.default)}`);
  }
});

it('README gives the two commands', () => {
  assert.match(readme, /npm run demo/);
  assert.match(readme, /npm test/);
});
