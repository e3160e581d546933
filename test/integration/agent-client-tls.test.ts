/**
 * TLS to agents with certificates made by openssl at test time: a CA bundle, mTLS, and the
 * explicit insecure opt-in for a self-signed certificate.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createAgentClient } from '../../src/adapters/agent-client.js';
import type { AgentClientOptions } from '../../src/adapters/agent-client.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { TestPki, type CertFiles } from '../helpers/tls.js';
import { agentHandler, startServer } from './helpers/http-servers.js';
import type { TestServer } from './helpers/http-servers.js';

const base = { timeoutMs: 2000, maxResponseBytes: 1024 * 1024 };

let pki: TestPki;
let ca: CertFiles;
let client: CertFiles;
let caSigned: TestServer;
let mutual: TestServer;
let selfSigned: TestServer;

before(async () => {
  pki = new TestPki();
  ca = pki.ca('agent-ca');
  client = pki.issue(ca, 'agent-client', 'client');
  const server = pki.issue(ca, 'agent', 'server', ['127.0.0.1', 'localhost']);
  const self = pki.selfSigned('agent-self-signed', ['127.0.0.1']);
  const tls = (files: CertFiles) => ({ cert: readFileSync(files.cert), key: readFileSync(files.key) });
  caSigned = await startServer(agentHandler('rs0'), tls(server));
  mutual = await startServer(agentHandler('rs0'), { ...tls(server), ca: readFileSync(ca.cert), requestCert: true, rejectUnauthorized: true });
  selfSigned = await startServer(agentHandler('rs0'), tls(self));
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the CA-signed agent': () => caSigned.close(),
      'stopping the mutual-TLS agent': () => mutual.close(),
      'stopping the self-signed agent': () => selfSigned.close(),
      'deleting the certificates': () => pki.dispose(),
    }),
  cleanupBound,
);

async function observeWith(options: Partial<AgentClientOptions>, server: TestServer) {
  const client = createAgentClient({ ...base, ...options });
  try {
    return await client.observe(server.url, 'rs0');
  } finally {
    client.close();
  }
}

describe('agent client over TLS', () => {
  test('a CA bundle verifies the agent certificate', async () => {
    const observation = await observeWith({ caFile: ca.cert }, caSigned);
    assert.equal(observation.status.code, 'UP');
    assert.equal(observation.datastore?.cluster_id, 'rs0');
  });

  test('without the CA the certificate is rejected: AGENT_DOWN with a TLS reason', async () => {
    const observation = await observeWith({}, caSigned);
    assert.equal(observation.status.code, 'AGENT_DOWN');
    assert.match(observation.status.reason ?? '', /^agent info: TLS: .*(certificate|issuer)/i);
  });

  test('mTLS: the client certificate is accepted', async () => {
    const observation = await observeWith({ caFile: ca.cert, certFile: client.cert, keyFile: client.key }, mutual);
    assert.equal(observation.status.code, 'UP');
  });

  test('mTLS: without a client certificate the agent refuses: AGENT_DOWN with a TLS reason', async () => {
    const observation = await observeWith({ caFile: ca.cert }, mutual);
    assert.equal(observation.status.code, 'AGENT_DOWN');
    assert.match(observation.status.reason ?? '', /^agent info: TLS: .*certificate required/);
    assert.deepEqual(mutual.requests.filter((r) => r.startsWith('GET')).length, 3, 'only the mTLS client got answers');
  });

  test('a self-signed certificate fails by default and passes with the explicit insecure opt-in', async () => {
    const strict = await observeWith({}, selfSigned);
    assert.equal(strict.status.code, 'AGENT_DOWN');
    assert.match(strict.status.reason ?? '', /^agent info: TLS: self-signed certificate/);
    const insecure = await observeWith({ insecureSkipVerify: true }, selfSigned);
    assert.equal(insecure.status.code, 'UP');
  });
});
