/**
 * Who may use the fleet page, as functions of a request's headers (no I/O):
 * - where it may listen: loopback, or anywhere once a token is set (`bindProblem`);
 * - who is let in: with a token, a request that carries it (`Authorization: Bearer <token>`, or
 *   basic auth with the token as password) or a session cookie the login form set; without one,
 *   anyone who reaches loopback, provided the Host header is a loopback name (a page on another
 *   site whose name was re-pointed at 127.0.0.1, DNS rebinding, is refused);
 * - which POSTs count: same-origin ones (Origin and Sec-Fetch-Site) that carry the form's CSRF
 *   token, derived from the session (or, without one, from the server's key); a bearer header
 *   cannot be sent by another site's page, so it needs no form token.
 * Secrets are compared through their SHA-256 digests with timingSafeEqual: the time taken does
 * not depend on how much of a guess is right, nor on its length.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The CSP of every page: scripts, styles and connections from the page's own origin only, no inline code, no framing. */
export const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const sessionCookie = 'fleetview_session';
/** How long a login lasts. */
export const sessionTtlMs = 12 * 3600 * 1000;

/** Whether `host` (a listen address or a Host header's name) can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(name) || name === '::ffff:127.0.0.1';
  return false;
}

/** Why the page may not listen on `host`, or null. */
export function bindProblem(host: string, tokenSet: boolean): string | null {
  if (tokenSet || isLoopbackHost(host)) return null;
  return (
    `FLEETVIEW_UI_HOST=${host} is not a loopback address and FLEETVIEW_UI_TOKEN is not set: anyone who reaches the port ` +
    'would see the fleet and could refresh clusters. Set FLEETVIEW_UI_TOKEN (or FLEETVIEW_UI_TOKEN_FILE) to at least 16 random ' +
    'characters (openssl rand -hex 32), or listen on 127.0.0.1'
  );
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time equality of two secrets of any length. */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Who a request is. `open`: no token is configured (loopback only). */
export type Identity = { kind: 'open' } | { kind: 'bearer' } | { kind: 'basic' } | { kind: 'session'; sid: string };

export interface RequestHeaders {
  authorization?: string | undefined;
  cookie?: string | undefined;
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export class Gatekeeper {
  readonly #token: string | undefined;
  /** Signs sessions and CSRF tokens: derived from the token (a new token ends every session), else random per process. */
  readonly #key: Buffer;

  constructor(token: string | undefined) {
    this.#token = token;
    this.#key = token === undefined ? randomBytes(32) : createHmac('sha256', 'fleetview-ui-key').update(token, 'utf8').digest();
  }

  get requiresToken(): boolean {
    return this.#token !== undefined;
  }

  #sign(data: string): string {
    return createHmac('sha256', this.#key).update(data, 'utf8').digest('base64url');
  }

  #signed(data: string, signature: string): boolean {
    return sameSecret(signature, this.#sign(data));
  }

  /** The token presented in the Authorization header: bearer, or basic auth's password. */
  #fromAuthorization(header: string | undefined): Identity | null {
    const token = this.#token;
    if (token === undefined || header === undefined) return null;
    const [scheme, value] = header.trim().split(/\s+/, 2);
    if (!value) return null;
    if (scheme?.toLowerCase() === 'bearer') return sameSecret(value, token) ? { kind: 'bearer' } : null;
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 && sameSecret(decoded.slice(colon + 1), token) ? { kind: 'basic' } : null;
    }
    return null;
  }

  /** The session of a cookie `<issued ms, base 36>.<random>.<signature>`, while it is not expired. */
  #fromCookie(header: string | undefined, nowMs: number): Identity | null {
    const value = cookieValue(header, sessionCookie);
    const match = value === undefined ? null : /^([0-9a-z]{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return null;
    const [, issued, random, signature] = match as unknown as [string, string, string, string];
    if (!this.#signed(`session:${issued}.${random}`, signature)) return null;
    const age = nowMs - parseInt(issued, 36);
    return age >= 0 && age <= sessionTtlMs ? { kind: 'session', sid: `${issued}.${random}` } : null;
  }

  /** Who the request is, or null: it must log in (or present the token). */
  identify(headers: RequestHeaders, nowMs = Date.now()): Identity | null {
    if (this.#token === undefined) return { kind: 'open' };
    return this.#fromAuthorization(headers.authorization) ?? this.#fromCookie(headers.cookie, nowMs);
  }

  /** Whether a login form's token is the right one. */
  acceptsToken(presented: string): boolean {
    return this.#token !== undefined && sameSecret(presented, this.#token);
  }

  /** A new session's cookie value (holds no secret: a random id and its signature). */
  newSession(nowMs = Date.now()): string {
    const data = `${nowMs.toString(36)}.${randomBytes(16).toString('hex')}`;
    return `${data}.${this.#sign(`session:${data}`)}`;
  }

  /** The CSRF token the forms of this identity carry. */
  csrfToken(identity: Identity): string {
    return this.#sign(`csrf:${identity.kind === 'session' ? identity.sid : identity.kind}`);
  }

  /** Whether a POST's form token fits its identity; bearer requests need none. */
  csrfValid(identity: Identity, presented: string | undefined): boolean {
    if (identity.kind === 'bearer') return true;
    return presented !== undefined && sameSecret(presented, this.csrfToken(identity));
  }
}

/**
 * Why a POST is not from one of the page's own forms, or null. Browsers send Origin with every
 * POST and Sec-Fetch-Site with every request; a client that sends neither (curl) is no page of
 * another site, and still needs the token (or the CSRF field).
 */
export function crossSiteProblem(headers: { origin?: string | undefined; 'sec-fetch-site'?: string | undefined; host?: string | undefined }, scheme: string): string | null {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site} request (Sec-Fetch-Site)`;
  const origin = headers.origin;
  if (origin !== undefined && origin !== `${scheme}://${headers.host ?? ''}`) return `a request from another origin (${origin.slice(0, 100)})`;
  return null;
}

/** Whether the Host header names this server as a loopback (or its configured) address: DNS rebinding is refused. */
export function hostAllowed(hostHeader: string | undefined, listenHost: string): boolean {
  if (hostHeader === undefined) return false;
  const name = hostHeader.replace(/:\d+$/, '');
  return isLoopbackHost(name) || name.replace(/^\[(.*)\]$/, '$1') === listenHost.replace(/^\[(.*)\]$/, '$1');
}

/** A `next` location after login: a path on this server only (never `//host` or a URL). */
export function localPath(raw: string | undefined): string {
  if (raw === undefined || !/^\/(?![/\\])[\x21-\x7e]{0,2000}$/.test(raw)) return '/';
  return raw;
}
