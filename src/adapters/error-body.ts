/**
 * The reason an error answer gives, from its body. Replicante agents answer errors with the
 * `SerializableFail` of replicante-io/common (util/failure/src/format.rs):
 *
 *   {"error": "<the top error's message>",
 *    "layers": ["<the top error>", ..., "<the root cause>"],   // failure's iter_chain(), outermost first
 *    "trace": "<a formatted backtrace>" | null,                // can be tens of KB
 *    "variant": "<the error kind's name>" | null}               // e.g. "StoreOpFailed"
 *
 * served with HTTP 500 by the agents' API (replicante_util_iron::into_ironerror). The top line
 * alone is generic (`datastore operation 'conf' failed`); the root cause is the last layer
 * (`Connection refused (os error 111)`). The reason is the top line and the root cause,
 * `datastore operation 'conf' failed: Connection refused (os error 111)`, sanitized and bounded;
 * the trace is never read.
 */
import { cut, oneLine } from '../domain/text.js';

/** Longest reason taken from an error body (the caller adds `<call>: HTTP <status>: `). */
export const maxErrorBodyReason = 240;
/** The top line keeps at least this much room next to a long root cause, or is left out. */
const minTopLine = 24;

/**
 * The reason of an error body: its top line and its root cause (the last non-empty layer),
 * else whichever of the two it has; null when it has neither (the caller falls back to the
 * HTTP status). Control characters are escaped, whitespace runs become one space, and the
 * result is at most `max` characters, the root cause kept whole whenever it fits.
 */
export function errorBodyReason(body: unknown, max = maxErrorBodyReason): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { error, layers } = body as Record<string, unknown>;
  // Layers are cut before they are compared: a 50 KB layer is never copied around whole.
  const clean = (text: unknown): string => (typeof text === 'string' ? oneLine(text.slice(0, 4 * max), 2 * max) : '');
  const top = clean(error);
  let root = '';
  if (Array.isArray(layers)) {
    for (let index = layers.length - 1; index >= 0 && !root; index--) root = clean(layers[index]);
  }
  if (!root || root === top || top.includes(root)) return top ? cut(top, max) : root ? cut(root, max) : null;
  if (!top || root.includes(top)) return cut(root, max);
  if (root.length + 2 + top.length <= max) return `${top}: ${root}`;
  // Too long for both: the root cause first, the top line with what is left.
  const room = max - root.length - 2;
  return room >= minTopLine ? `${cut(top, room)}: ${root}` : cut(root, max);
}
