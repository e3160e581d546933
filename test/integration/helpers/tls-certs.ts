/**
 * Certificates made at test time with openssl (EC keys, valid one day) in a temp dir: a CA,
 * a server and a client certificate it signed, and a self-signed server certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCert: Buffer;
  serverKey: Buffer;
  ca: Buffer;
  clientCertFile: string;
  clientKeyFile: string;
  selfSignedCert: Buffer;
  selfSignedKey: Buffer;
  remove(): void;
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'fleetview-tls-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=fleetview test CA');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=fleetview test ${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', ext);
  }
  openssl('req', '-x509', ...ecKey, '-keyout', 'self.key', '-out', 'self.crt', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
  return {
    dir,
    caFile: file('ca.crt'),
    ca: readFileSync(file('ca.crt')),
    serverCert: readFileSync(file('server.crt')),
    serverKey: readFileSync(file('server.key')),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    selfSignedCert: readFileSync(file('self.crt')),
    selfSignedKey: readFileSync(file('self.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
