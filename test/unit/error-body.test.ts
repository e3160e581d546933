// The reason of an agent's error answer: the root cause of a Replicante error body
// (SerializableFail: error, layers, trace, variant), sanitized and bounded, never the trace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBodyReason, maxErrorBodyReason } from '../../src/adapters/error-body.js';
import { cut, escaped, oneLine, quoted, terminalSafe } from '../../src/domain/text.js';

const trace = `stack backtrace:\n${Array.from({ length: 700 }, (_, i) => `  ${i}: replicante_agent::api::handler::h${i.toString(16).padStart(16, '0')}\n             at src/api.rs:${i}`).join('\n')}`;

/** The body an agent answers when its datastore refuses connections (replicante-io/common SerializableFail). */
function replicanteBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    error: "datastore operation 'conf' failed",
    layers: ["datastore operation 'conf' failed", "connection error to zookeeper with address '127.0.0.1:2181'", 'Connection refused (os error 111)'],
    trace,
    variant: 'StoreOpFailed',
    ...overrides,
  };
}

describe('errorBodyReason', () => {
  it('names the top line and the root cause (the last layer), never the 50 KB trace', () => {
    assert.ok(trace.length > 50_000, `the trace is ${trace.length} characters`);
    const reason = errorBodyReason(replicanteBody());
    assert.equal(reason, "datastore operation 'conf' failed: Connection refused (os error 111)");
    assert.ok(!reason?.includes('backtrace') && !reason?.includes('StoreOpFailed'));
  });

  const cases: Array<[string, unknown, string | null]> = [
    ['no layers: the error', replicanteBody({ layers: undefined }), "datastore operation 'conf' failed"],
    ['empty layers: the error', replicanteBody({ layers: [] }), "datastore operation 'conf' failed"],
    ['layers not strings: the error', replicanteBody({ layers: [1, { cause: 'x' }, null, true] }), "datastore operation 'conf' failed"],
    ['non-string layers after the root cause are skipped', replicanteBody({ layers: ['top', 'the root', 42, null] }), "datastore operation 'conf' failed: the root"],
    ['blank last layers are skipped', replicanteBody({ layers: ['top', 'disk full', '', '   \n'] }), "datastore operation 'conf' failed: disk full"],
    ['layers not a list: the error', replicanteBody({ layers: 'Connection refused' }), "datastore operation 'conf' failed"],
    ['one layer, the error itself', { error: 'agent is shutting down', layers: ['agent is shutting down'], trace: null, variant: null }, 'agent is shutting down'],
    ['no error: the root cause alone', { layers: ['a', 'Connection refused (os error 111)'] }, 'Connection refused (os error 111)'],
    ['error not a string: the root cause alone', { error: 500, layers: ['disk full'] }, 'disk full'],
    ['the error already says the root cause', { error: 'conf failed: Connection refused', layers: ['conf failed: Connection refused', 'Connection refused'] }, 'conf failed: Connection refused'],
    ['the root cause already says the error', { error: 'conf failed', layers: ['conf failed', 'conf failed: Connection refused'] }, 'conf failed: Connection refused'],
    ['neither error nor layers: null (the caller says the status)', { trace, variant: 'StoreOpFailed' }, null],
    ['blank error, no layers: null', { error: ' \n ' }, null],
    ['not an object: null', ['error'], null],
    ['a string body: null', 'Connection refused', null],
    ['null: null', null, null],
  ];
  for (const [name, body, expected] of cases) {
    it(name, () => assert.equal(errorBodyReason(body), expected));
  }

  it('escapes control characters and puts everything on one line', () => {
    const reason = errorBodyReason({ error: 'conf\r\nfailed\t', layers: ['x', 'refused \u001b[2J\u0007\u009b\u202e here'] });
    assert.equal(reason, 'conf failed: refused \\u001b[2J\\u0007\\u009b\\u202e here');
  });

  it('replaces broken UTF-16 (a lone surrogate from a \\ud800 escape) with U+FFFD', () => {
    assert.equal(errorBodyReason(JSON.parse('{"error": "bad \\ud800 text"}')), 'bad \ufffd text');
  });

  it('bounds a huge root cause, and keeps it before the top line', () => {
    const huge = `Connection refused ${'x'.repeat(100_000)}`;
    const reason = errorBodyReason(replicanteBody({ layers: ['top', huge] })) ?? '';
    assert.equal(reason.length, maxErrorBodyReason);
    assert.ok(reason.startsWith('Connection refused xxx'), reason.slice(0, 40));
    assert.ok(reason.endsWith('...'));
  });

  it('cuts a long top line to leave the root cause whole', () => {
    const top = `datastore operation failed ${'y'.repeat(400)}`;
    const reason = errorBodyReason({ error: top, layers: [top, 'Connection refused (os error 111)'] }) ?? '';
    assert.equal(reason.length, maxErrorBodyReason);
    assert.match(reason, /^datastore operation failed y+\.\.\.: Connection refused \(os error 111\)$/);
  });

  it('bounds a huge error without layers', () => {
    assert.equal(errorBodyReason({ error: 'e'.repeat(50_000) })?.length, maxErrorBodyReason);
  });

  it('takes the bound it is given', () => {
    assert.equal(errorBodyReason(replicanteBody(), 40), 'Connection refused (os error 111)');
  });
});

describe('text helpers', () => {
  it('cut never splits a surrogate pair', () => {
    assert.equal(cut('ab😀cd', 5), 'ab...');
    assert.equal(cut('abc😀def', 7), 'abc...');
    assert.equal(cut('short', 10), 'short');
  });
  it('oneLine collapses whitespace, escapes the rest, bounds the length', () => {
    assert.equal(oneLine('  a\n\n b\u0000c\u007f ', 80), 'a b\\u0000c\\u007f');
    assert.equal(oneLine('x'.repeat(100), 10), 'xxxxxxx...');
  });
  it('quoted escapes what JSON.stringify leaves (DEL, C1, bidi)', () => {
    assert.equal(quoted('a"\u0007\u007f\u0085\u2066'), '"a\\"\\u0007\\u007f\\u0085\\u2066"');
  });
  it('escaped escapes newlines too, without quotes', () => {
    assert.equal(escaped('/tmp/a\n\u001b[2J "b".yaml', 200), '/tmp/a\\n\\u001b[2J "b".yaml');
  });
  it('terminalSafe keeps newlines and tabs, escapes the rest', () => {
    assert.equal(terminalSafe('line 1\n\tline 2\u001b[2J\r'), 'line 1\n\tline 2\\u001b[2J\\r');
  });
});
