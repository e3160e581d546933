/**
 * TLS for tests: certificates made by openssl at test time (the suite's one maker of them), and
 * a TLS-terminating proxy in front of a plain-text service (the Temporal dev server and the
 * store speak no TLS).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';

export interface CertFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

function subjectAltNames(names: string[]): string {
  return names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** A folder of certificates: CAs, and server or client certificates they sign (RSA, PKCS#8 keys). */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleetview-pki-'));

  /** A self-signed CA. */
  ca(name: string): CertFiles {
    const files = { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', files.key], this.dir);
    openssl(
      ['req', '-x509', '-new', '-key', files.key, '-out', files.cert, '-days', '2', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      this.dir,
    );
    return files;
  }

  /** A leaf certificate signed by `ca`; `names` are its DNS/IP subject alternative names. */
  issue(ca: CertFiles, name: string, usage: 'server' | 'client', names: string[] = []): CertFiles {
    const files = { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', files.key], this.dir);
    openssl(['req', '-new', '-key', files.key, '-out', csr, '-subj', `/CN=${name}`], this.dir);
    const san = subjectAltNames(names);
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(san ? [`subjectAltName=${san}`] : []),
      ].join('\n'),
    );
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', files.cert, '-days', '2', '-extfile', ext], this.dir);
    return files;
  }

  /** A self-signed server certificate for `names` (DNS/IP subject alternative names), signed by no CA. */
  selfSigned(name: string, names: string[]): CertFiles {
    const files = { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', files.key], this.dir);
    openssl(
      ['req', '-x509', '-new', '-key', files.key, '-out', files.cert, '-days', '2', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth', '-addext', `subjectAltName=${subjectAltNames(names)}`],
      this.dir,
    );
    return files;
  }

  /** Deletes the folder and everything in it. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A file in the folder (secrets, combined PEMs). */
  file(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  }
}

export interface TlsProxy {
  port: number;
  /** Connections that completed the handshake. */
  readonly accepted: number;
  /** Why handshakes failed (client without a certificate, untrusted client...). */
  readonly refused: string[];
  close(): Promise<void>;
}

/**
 * Terminates TLS on a free port and pipes each connection to `target` in plain text. gRPC clients
 * insist on ALPN h2 (socat offers none): pass `alpn: ['h2']` in front of Temporal.
 */
export async function startTlsProxy(options: {
  target: string;
  server: CertFiles;
  /** CA of the client certificates: with it, a client certificate is required (mTLS). */
  clientCa?: string;
  alpn?: string[];
}): Promise<TlsProxy> {
  const [host, port] = [options.target.slice(0, options.target.lastIndexOf(':')), Number(options.target.slice(options.target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const refused: string[] = [];
  let accepted = 0;
  const server = createServer(
    {
      key: readFileSync(options.server.key),
      cert: readFileSync(options.server.cert),
      ...(options.clientCa ? { ca: readFileSync(options.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
      ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    },
    (client: TLSSocket) => {
      accepted++;
      const upstream = connect(port, host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', (err) => refused.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    refused,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
