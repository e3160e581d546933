// Who may use the fleet page (src/ui/security.ts): where it may listen, tokens, sessions, CSRF
// tokens, same-origin POSTs, Host names and login redirects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config.js';
import { bindProblem, crossSiteProblem, Gatekeeper, hostAllowed, isLoopbackHost, localPath, sameSecret, sessionCookie, sessionTtlMs } from '../../src/ui/security.js';

const token = 'a-token-of-32-characters-0123456';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('where the page may listen', () => {
  it('loopback without a token; anywhere else only with one, refusing with a message naming the setting', () => {
    for (const host of ['127.0.0.1', '127.9.9.9', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'fleet.example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
    assert.equal(bindProblem('127.0.0.1', false), null);
    assert.equal(bindProblem('0.0.0.0', true), null);
    assert.match(bindProblem('0.0.0.0', false)!, /^FLEETVIEW_UI_HOST=0\.0\.0\.0 is not a loopback address and FLEETVIEW_UI_TOKEN is not set/);
    assert.match(bindProblem('0.0.0.0', false)!, /FLEETVIEW_UI_TOKEN_FILE/);
  });
});

describe('the token setting', () => {
  it('is a secret: from FLEETVIEW_UI_TOKEN or its _FILE, at least 16 printable characters, never shown', () => {
    assert.equal(loadConfig({}).ui.token, undefined);
    assert.deepEqual({ host: loadConfig({}).ui.host, port: loadConfig({}).ui.port }, { host: '127.0.0.1', port: 8235 });
    const config = loadConfig({ FLEETVIEW_UI_TOKEN: token });
    assert.equal(config.ui.token?.reveal(), token);
    assert.ok(!inspect(config, { depth: 5 }).includes(token) && !JSON.stringify(config).includes(token));
    const dir = mkdtempSync(`${tmpdir()}/fleetview-ui-`);
    try {
      writeFileSync(`${dir}/token`, `${token}\n`);
      assert.equal(loadConfig({ FLEETVIEW_UI_TOKEN_FILE: `${dir}/token` }).ui.token?.reveal(), token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const [bad, problem] of [['short-one', /at least 16 characters/], [`${token} with spaces`, /printable ASCII without spaces/]] as const) {
      assert.throws(
        () => loadConfig({ FLEETVIEW_UI_TOKEN: bad }),
        (err: unknown) => err instanceof ConfigError && problem.test(err.message) && err.message.includes('FLEETVIEW_UI_TOKEN') && !err.message.includes(bad),
      );
    }
  });
});

describe('the gatekeeper', () => {
  it('lets everyone in when no token is set (loopback), nobody without it when one is', () => {
    assert.deepEqual(new Gatekeeper(undefined).identify({}), { kind: 'open' });
    const gate = new Gatekeeper(token);
    assert.equal(gate.identify({}), null);
    assert.equal(gate.identify({ authorization: 'Bearer wrong' }), null);
    assert.equal(gate.identify({ authorization: `Bearer ${token}x` }), null);
    assert.equal(gate.identify({ authorization: `Bearer ${token.slice(0, -1)}` }), null);
    assert.deepEqual(gate.identify({ authorization: `Bearer ${token}` }), { kind: 'bearer' });
    assert.deepEqual(gate.identify({ authorization: `bearer  ${token}` }), { kind: 'bearer' });
    assert.deepEqual(gate.identify({ authorization: basic('anyone', token) }), { kind: 'basic' });
    assert.equal(gate.identify({ authorization: basic(token, 'nope') }), null, 'the token is the password, not the user');
    assert.equal(gate.acceptsToken(token), true);
    assert.equal(gate.acceptsToken(`${token} `), false);
    assert.equal(new Gatekeeper(undefined).acceptsToken(''), false);
  });

  it('signs sessions that hold no secret, expire, and end when the token changes', () => {
    const gate = new Gatekeeper(token);
    const now = Date.parse('2026-11-24T10:00:00.000Z');
    const value = gate.newSession(now);
    assert.ok(!value.includes(token));
    const cookie = `other=1; ${sessionCookie}=${value}`;
    const identity = gate.identify({ cookie }, now + 1000);
    assert.equal(identity?.kind, 'session');
    assert.equal(gate.identify({ cookie }, now + sessionTtlMs + 1), null, 'expired');
    assert.equal(new Gatekeeper(`${token}-rotated`).identify({ cookie }, now + 1000), null, 'a new token ends every session');
    const [issued, random, signature] = value.split('.') as [string, string, string];
    const forged = `${sessionCookie}=${issued}.${random.replace(/^./, random[0] === 'a' ? 'b' : 'a')}.${signature}`;
    assert.equal(gate.identify({ cookie: forged }, now + 1000), null, 'a changed id breaks the signature');
    assert.equal(gate.identify({ cookie: `${sessionCookie}=${token}` }, now), null, 'the token is no session');
  });

  it('gives each identity its own CSRF token, checked in constant time; bearer requests need none', () => {
    const gate = new Gatekeeper(token);
    const now = Date.now();
    const a = gate.identify({ cookie: `${sessionCookie}=${gate.newSession(now)}` }, now)!;
    const b = gate.identify({ cookie: `${sessionCookie}=${gate.newSession(now)}` }, now)!;
    assert.notEqual(gate.csrfToken(a), gate.csrfToken(b));
    assert.equal(gate.csrfValid(a, gate.csrfToken(a)), true);
    assert.equal(gate.csrfValid(a, gate.csrfToken(b)), false);
    assert.equal(gate.csrfValid(a, undefined), false);
    assert.equal(gate.csrfValid({ kind: 'basic' }, undefined), false, 'browsers send basic auth by themselves: forms need the token');
    assert.equal(gate.csrfValid({ kind: 'bearer' }, undefined), true);
    const open = new Gatekeeper(undefined);
    assert.equal(open.csrfValid({ kind: 'open' }, open.csrfToken({ kind: 'open' })), true);
    assert.equal(open.csrfValid({ kind: 'open' }, gate.csrfToken({ kind: 'open' })), false, 'each server has its own key');
    assert.equal(sameSecret('abc', 'abc'), true);
    assert.equal(sameSecret('abc', 'abcd'), false);
  });
});

describe('requests', () => {
  it('POSTs must come from the page itself', () => {
    const host = '127.0.0.1:8235';
    assert.equal(crossSiteProblem({ origin: 'http://127.0.0.1:8235', 'sec-fetch-site': 'same-origin', host }, 'http'), null);
    assert.equal(crossSiteProblem({ host }, 'http'), null, 'curl sends neither (and needs the token)');
    assert.match(crossSiteProblem({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', host }, 'http')!, /cross-site/);
    assert.match(crossSiteProblem({ origin: 'https://evil.example', host }, 'http')!, /another origin \(https:\/\/evil\.example\)/);
    assert.match(crossSiteProblem({ origin: 'null', host }, 'http')!, /another origin/);
    assert.match(crossSiteProblem({ 'sec-fetch-site': 'same-site', host }, 'http')!, /same-site/);
  });

  it('without a token, only loopback names of the server are answered (DNS rebinding)', () => {
    assert.equal(hostAllowed('127.0.0.1:8235', '127.0.0.1'), true);
    assert.equal(hostAllowed('localhost:8235', '127.0.0.1'), true);
    assert.equal(hostAllowed('[::1]:8235', '::1'), true);
    assert.equal(hostAllowed('attacker.example:8235', '127.0.0.1'), false);
    assert.equal(hostAllowed(undefined, '127.0.0.1'), false);
  });

  it('after login, go to a path of this server only', () => {
    assert.equal(localPath('/clusters/rs0?limit=5'), '/clusters/rs0?limit=5');
    for (const bad of [undefined, '', 'https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)', '/a b']) assert.equal(localPath(bad), '/', String(bad));
  });
});
