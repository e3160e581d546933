/**
 * Text from outside (agents, discovery, operators) on its way into reasons, events, logs, the
 * store and terminals: one line, no control characters, bounded. Workflow-safe (pure).
 *
 * "Control characters" are C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F), the line and paragraph
 * separators and the bidirectional formatting characters (they reorder what a terminal shows).
 */

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const controlCharactersGlobal = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const unsafeInOutput = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const loneSurrogates = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const shortEscapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCharacter(character: string): string {
  return shortEscapes[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` cut to at most `max` characters (the last three `...`), never inside a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 3);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}...`;
}

/**
 * One line of at most `max` characters: whitespace runs (newlines included) become one space,
 * other control characters are escaped (`\u001b`), broken UTF-16 becomes U+FFFD.
 */
export function oneLine(text: string, max: number): string {
  const flat = text
    .replace(loneSurrogates, '\ufffd')
    .replace(/\s+/g, ' ')
    .replace(controlCharactersGlobal, escapeCharacter)
    .trim();
  return cut(flat, max);
}

/** `text` cut to `max` characters with every control character escaped (`\n`, `\u001b`), newlines included: for paths. */
export function escaped(text: string, max: number): string {
  return cut(text.replace(loneSurrogates, '\ufffd').replace(controlCharactersGlobal, escapeCharacter), max);
}

/** `text` as a JSON string literal, cut to `max` characters first, with every control character escaped. */
export function quoted(text: string, max = 80): string {
  // JSON.stringify escapes C0, quotes and lone surrogates; DEL, C1 and the rest are left to us.
  return JSON.stringify(cut(text, max)).replace(controlCharactersGlobal, escapeCharacter);
}

/** Multi-line output for a terminal: newlines and tabs kept, every other control character escaped. */
export function terminalSafe(text: string): string {
  return text.replace(loneSurrogates, '\ufffd').replace(unsafeInOutput, escapeCharacter);
}

/** What is wrong with text that must be printable, or null: `control character U+001B at index 3`. */
export function controlCharacterProblem(text: string): string | null {
  const match = controlCharacters.exec(text);
  if (match) return `control character U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${match.index}`;
  const broken = text.search(loneSurrogates);
  return broken >= 0 ? `broken UTF-16 at index ${broken}` : null;
}

/**
 * controlCharacterProblem, and also U+FFFD: what a decoder leaves where bytes were not UTF-8.
 * For text operators and discovery write (names, labels, addresses), where it means the bytes
 * were mangled on the way, not for what agents report (their own lossy decoding is their news).
 */
export function unprintableProblem(text: string): string | null {
  const replacement = text.indexOf('\ufffd');
  return controlCharacterProblem(text) ?? (replacement >= 0 ? `U+FFFD at index ${replacement} (the text was not valid UTF-8)` : null);
}

/** `a string`, `a list`, `an object`, `null`, `a number`: what a value is, for messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'string' && value.length > 80 ? `a string of ${value.length} characters` : `a ${typeof value}`;
}

/**
 * What is wrong with a free-text label (a display name, a node class), or null: a string of at
 * most `max` printable characters, non-empty unless `allowEmpty`.
 */
export function labelProblem(field: string, value: unknown, max = 256, allowEmpty = false): string | null {
  const expected = `${field} must be ${allowEmpty ? 'a' : 'a non-empty'} string of at most ${max} printable characters`;
  if (typeof value !== 'string') return `${expected}, got ${describeType(value)}`;
  if (value.length > max) return `${expected}, got ${value.length} characters`;
  if (!allowEmpty && value.length === 0) return `${expected}, got an empty string`;
  const problem = unprintableProblem(value);
  return problem ? `${expected}, got ${quoted(value, 40)} with a ${problem}` : null;
}
