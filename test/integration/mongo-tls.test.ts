// MongoDB over TLS with a client certificate. The embedded store is started plain by
// scripts/services.sh (and may be replaced), so a TLS-terminating proxy with certificates made by
// openssl now stands in front of it and asks for a client certificate: what is tested is the
// client side, fleetview's MongoClient options, against a real handshake and a real store behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { mongoStoreOptions } from '../../src/adapters/connections/index.js';
import { createClusterStore } from '../../src/adapters/cluster-store.js';
import { loadConfig } from '../../src/config.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { runCliProcess } from '../helpers/cli.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { TestPki, startTlsProxy, type CertFiles, type TlsProxy } from '../helpers/tls.js';

const pki = new TestPki();
let ca: CertFiles;
let client: CertFiles;
let proxy: TlsProxy;
let uri: string;

before(async () => {
  ca = pki.ca('mongodb-ca');
  client = pki.issue(ca, 'mongodb-client', 'client');
  const server = pki.issue(ca, 'mongodb-server', 'server', ['127.0.0.1', 'localhost']);
  const store = new URL(loadConfig(process.env).mongodb.uri);
  proxy = await startTlsProxy({ target: `${store.hostname}:${store.port || '27017'}`, server, clientCa: ca.cert });
  uri = `mongodb://127.0.0.1:${proxy.port}/`;
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the TLS proxy': () => proxy?.close(),
      'deleting the certificates': () => pki.dispose(),
    }),
  cleanupBound,
);

function cliEnv(mongo: Record<string, string>): Record<string, string> {
  const env = configEnv(testConfig());
  for (const name of Object.keys(env)) if (name.startsWith('FLEETVIEW_MONGODB_') && name !== 'FLEETVIEW_MONGODB_DATABASE') delete env[name];
  return { ...env, FLEETVIEW_MONGODB_URI: uri, ...mongo };
}

describe('MongoDB over TLS with a client certificate', () => {
  it('stores and reads through TLS (CA file, certificate and key files)', async () => {
    const config = testConfig({ FLEETVIEW_MONGODB_URI: uri, FLEETVIEW_MONGODB_TLS_CA_FILE: ca.cert, FLEETVIEW_MONGODB_TLS_CERT_FILE: client.cert, FLEETVIEW_MONGODB_TLS_KEY_FILE: client.key });
    const store = await createClusterStore(mongoStoreOptions(config.mongodb, { serverSelectionTimeoutMs: 5000 }));
    try {
      await store.ensureIndexes();
      assert.deepEqual(await store.listClusters(), []);
    } finally {
      await store.close();
    }
    assert.ok(proxy.accepted > 0);
  });

  it('takes one PEM holding both certificate and key (as Atlas X.509 hands them out), and serves the CLI', async () => {
    const combined = pki.file('mongodb-client-combined.pem', readFileSync(client.cert, 'utf8') + readFileSync(client.key, 'utf8'));
    const result = await runCliProcess(['clusters'], cliEnv({ FLEETVIEW_MONGODB_TLS_CA_FILE: ca.cert, FLEETVIEW_MONGODB_TLS_CERT_FILE: combined, FLEETVIEW_MONGODB_TLS_KEY_FILE: combined }));
    assert.equal(result.code, 0, result.stderr);
  });

  it('without a client certificate the CLI exits 4, naming MongoDB, the address and the cause', async () => {
    const result = await runCliProcess(['clusters'], cliEnv({ FLEETVIEW_MONGODB_TLS_CA_FILE: ca.cert }));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach MongoDB at mongodb://127\\.0\\.0\\.1:${proxy.port}/: TLS: the server refused the connection during the handshake: it wants a client certificate`));
  });

  it('trusting another CA the CLI exits 4, naming MongoDB, the address and the cause', async () => {
    const result = await runCliProcess(['clusters'], cliEnv({ FLEETVIEW_MONGODB_TLS_CA_FILE: pki.ca('not-mongos-ca').cert, FLEETVIEW_MONGODB_TLS_CERT_FILE: client.cert, FLEETVIEW_MONGODB_TLS_KEY_FILE: client.key }));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach MongoDB at mongodb://127\\.0\\.0\\.1:${proxy.port}/: TLS: the server's certificate is not trusted \\(is FLEETVIEW_MONGODB_TLS_CA_FILE`));
  });
});
