// Temporal over TLS and mTLS, for real: the dev server speaks no TLS, so a TLS-terminating proxy
// (Node's tls, ALPN h2, certificates made by openssl now) stands in front of it, asking for a
// client certificate. The worker and the CLI run a cluster refresh through it; a client without
// a certificate, or trusting another CA, or checking the wrong name, is refused with a message
// naming Temporal, the address and the cause (exit 4 from the CLI).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceConnectError, connectTemporalClient } from '../../src/adapters/connections/index.js';
import { createLogger } from '../../src/adapters/logger.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createFleetviewWorker } from '../../src/worker.js';
import { refreshNowUpdate } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { runCliProcess } from '../helpers/cli.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { TestPki, startTlsProxy, type CertFiles, type TlsProxy } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';

const serverName = 'temporal.fleetview.test';
const pki = new TestPki();

/** The reason a user reads when the server wants a client certificate (escaped for a RegExp). */
const clientCertificateRefused =
  'TLS: the server refused the connection during the handshake: it wants a client certificate it trusts \\(FLEETVIEW_TEMPORAL_TLS_CERT_FILE, FLEETVIEW_TEMPORAL_TLS_KEY_FILE\\)';

let ca: CertFiles;
let client: CertFiles;
let otherCa: CertFiles;
let proxy: TlsProxy;
let address: string;
let tlsEnv: Record<string, string>;

before(async () => {
  ca = pki.ca('fleetview-test-ca');
  otherCa = pki.ca('another-ca');
  // The certificate names only a DNS name: connecting to 127.0.0.1 needs the server name override.
  const server = pki.issue(ca, 'temporal-server', 'server', [serverName]);
  client = pki.issue(ca, 'fleetview-worker', 'client');
  proxy = await startTlsProxy({ target: loadConfig(process.env).temporal.address, server, clientCa: ca.cert, alpn: ['h2'] });
  address = `127.0.0.1:${proxy.port}`;
  tlsEnv = {
    FLEETVIEW_TEMPORAL_ADDRESS: address,
    FLEETVIEW_TEMPORAL_TLS_CA_FILE: ca.cert,
    FLEETVIEW_TEMPORAL_TLS_CERT_FILE: client.cert,
    FLEETVIEW_TEMPORAL_TLS_KEY_FILE: client.key,
    FLEETVIEW_TEMPORAL_TLS_SERVER_NAME: serverName,
    // The dev server ignores API keys; sent all the same, as to Temporal Cloud.
    FLEETVIEW_TEMPORAL_API_KEY_FILE: pki.file('temporal-api-key', `${uniqueName('api-key')}\n`),
  };
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the TLS proxy': () => proxy?.close(),
      'deleting the certificates': () => pki.dispose(),
    }),
  cleanupBound,
);

/** The environment of a CLI process on `config`, with the Temporal settings replaced by `temporal`. */
function cliEnv(config: Config, temporal: Record<string, string>): Record<string, string> {
  const env = configEnv(config);
  for (const name of Object.keys(env)) if (name.startsWith('FLEETVIEW_TEMPORAL_')) delete env[name];
  return { ...env, ...temporal };
}

describe('Temporal over mTLS', () => {
  let fixture: RefresherFixture | undefined;
  let config: Config;

  before(async () => {
    config = testConfig(tlsEnv);
    fixture = await startRefresherFixture(config, { nodes: 2, idPrefix: `${uniqueName('tls')}-` });
  }, setupBound);

  after(
    () =>
      cleanUp({
        'closing the refresher fixture': () => fixture?.close(),
      }),
    cleanupBound,
  );

  it('runs a cluster refresh with the worker and a client connected through TLS with a client certificate', async () => {
    const report = await fixture!.handle.executeUpdate(refreshNowUpdate);
    assert.equal(report.nodes_fetched, 2);
    assert.equal(report.nodes_down, 0);
    // The worker's native connection, its client connection for discovery, and the test's client.
    assert.ok(proxy.accepted >= 3, `the worker and the clients connect through the proxy (${proxy.accepted} connections)`);
  });

  it('serves the CLI through TLS', async () => {
    const clusterId = fixture!.sim.records()[0]!.cluster_id;
    const result = await runCliProcess(['refresh', clusterId, '--wait', '--json'], cliEnv(config, tlsEnv));
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { nodes_fetched: number }).nodes_fetched, 2);
  });
});

describe('Temporal refuses what does not fit, naming the service, the address and the cause', () => {
  it('a CLI without a client certificate exits 4', async () => {
    const { FLEETVIEW_TEMPORAL_TLS_CERT_FILE: _c, FLEETVIEW_TEMPORAL_TLS_KEY_FILE: _k, ...env } = tlsEnv;
    const result = await runCliProcess(['refresh', 'any-cluster'], cliEnv(testConfig(), env));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    // What a user needs: the service, the address, the reason and the settings to fix. The driver's
    // own error underneath varies (a refused certificate, or a broken pipe when the server's alert
    // loses the race with the client's first write), so it is not asserted.
    assert.match(result.stderr, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${proxy.port}: ${clientCertificateRefused}`));
  });

  it('a CLI trusting another CA exits 4', async () => {
    const result = await runCliProcess(['refresh', 'any-cluster'], cliEnv(testConfig(), { ...tlsEnv, FLEETVIEW_TEMPORAL_TLS_CA_FILE: otherCa.cert }));
    assert.equal(result.code, 4, `exit ${result.code}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${proxy.port}: TLS: the server's certificate is not trusted \\(is FLEETVIEW_TEMPORAL_TLS_CA_FILE`));
  });

  it('a worker trusting another CA does not start', async () => {
    const config = testConfig({ ...tlsEnv, FLEETVIEW_TEMPORAL_TLS_CA_FILE: otherCa.cert });
    await assert.rejects(createFleetviewWorker(config, createLogger('error')), (err: unknown) => {
      assert.ok(err instanceof ServiceConnectError, String(err));
      assert.match(err.message, new RegExp(`^Temporal at 127\\.0\\.0\\.1:${proxy.port}: TLS: the server's certificate is not trusted .*UnknownIssuer`));
      return true;
    });
  });

  it('a worker without a client certificate does not start', async () => {
    const { FLEETVIEW_TEMPORAL_TLS_CERT_FILE: _c, FLEETVIEW_TEMPORAL_TLS_KEY_FILE: _k, ...env } = tlsEnv;
    await assert.rejects(createFleetviewWorker(testConfig(env), createLogger('error')), (err: unknown) => {
      assert.ok(err instanceof ServiceConnectError, String(err));
      assert.match(err.message, new RegExp(`^Temporal at 127\\.0\\.0\\.1:${proxy.port}: ${clientCertificateRefused}`));
      return true;
    });
  });

  it('a client checking the address instead of the certificate\'s name is told about the server name setting', async () => {
    const { FLEETVIEW_TEMPORAL_TLS_SERVER_NAME: _n, ...env } = tlsEnv;
    await assert.rejects(connectTemporalClient(testConfig(env).temporal, { connectTimeoutMs: 2000 }), /TLS: the server's certificate is not for this host name \(FLEETVIEW_TEMPORAL_TLS_SERVER_NAME/);
  });

  it('a plain-text client at a TLS port is told it may be the wrong protocol', async () => {
    await assert.rejects(connectTemporalClient(testConfig({ FLEETVIEW_TEMPORAL_ADDRESS: address }).temporal, { connectTimeoutMs: 1000 }), /Temporal at .*: no answer in time: .*\(TLS or not\)/);
  });
});
