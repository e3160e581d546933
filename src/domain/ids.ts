import { describeType, quoted, unprintableProblem } from './text.js';

/**
 * Identifiers that come from outside (discovery sources, agents, operators) and end up in
 * workflow IDs (`cluster/<id>`), Kafka keys, event ids and MongoDB keys. Validated once, here,
 * by discovery and by the workflow input check alike.
 */

/** Cluster ids: a letter or digit first, then letters, digits, `.`, `_`, `-`; at most 128 characters. */
export const clusterIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Node ids as datastores report them (`mongo-1:27017`, `broker-3`, `[::1]:9092`): printable ASCII
 * without spaces, `/`, `$` or quotes; at most 256 characters.
 */
export const nodeIdPattern = /^[A-Za-z0-9_[][A-Za-z0-9._:@[\]-]{0,255}$/;

/** `<what> is missing` or `<what> must be a string, got a number`. */
function notAString(what: string, value: unknown): string {
  return value === undefined ? `${what} is missing` : `${what} must be a string, got ${describeType(value)}`;
}

/** An error message naming what is wrong with the cluster id, or null when it is valid. */
export function clusterIdProblem(id: unknown): string | null {
  if (typeof id !== 'string') return notAString('cluster id', id);
  if (clusterIdPattern.test(id)) return null;
  return `invalid cluster id ${quoted(id)}: expected 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`;
}

/** Discovery names (settings documents) follow the rule of cluster ids: they are MongoDB keys and show in workflow details. */
export function discoveryNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return notAString('discovery name', name);
  if (clusterIdPattern.test(name)) return null;
  return `invalid discovery name ${quoted(name)}: expected 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`;
}

/** An error message naming what is wrong with the node id, or null when it is valid. */
export function nodeIdProblem(id: unknown): string | null {
  if (typeof id !== 'string') return notAString('node id', id);
  if (nodeIdPattern.test(id)) return null;
  return `invalid node id ${quoted(id)}: expected 1 to 256 characters of A-Z a-z 0-9 . _ : @ [ ] -`;
}

/**
 * An error message naming what is wrong with an agent address, or null when it is a valid
 * http(s) URL without credentials, query or fragment. Uses the WHATWG URL parser, which is a
 * global in every JavaScript runtime Temporal's workflow sandbox supports.
 */
export function agentAddressProblem(address: unknown): string | null {
  if (typeof address !== 'string') return notAString('agent address', address);
  const shown = quoted(withoutSecrets(address));
  if (address.length > 2048) return `agent address is longer than 2048 characters (${address.length})`;
  // The URL parser would quietly drop tabs and newlines and encode the rest; the address is kept
  // as given (workflow input, events, the store), so it must be printable as given.
  const unprintable = unprintableProblem(address) ?? (/\s/.test(address) ? 'a space' : null);
  if (unprintable) return `invalid agent address ${shown}: ${unprintable}`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return `invalid agent address ${shown}: not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `invalid agent address ${shown}: expected http:// or https://`;
  }
  if (url.username || url.password || url.search || url.hash) {
    return `invalid agent address ${shown}: credentials, query and fragment are not allowed`;
  }
  return null;
}

/** An address as messages show it: credentials, query and fragment masked (they may hold tokens). */
function withoutSecrets(address: string): string {
  return address.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1***@').replace(/([?#]).*$/, '$1***');
}

/** The canonical form of an agent address: the base URL with trailing `/` trimmed. */
export function normalizeAgentAddress(address: string): string {
  return address.replace(/\/+$/, '');
}

export function clusterWorkflowId(clusterId: string): string {
  return `cluster/${clusterId}`;
}
