import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { SystemError } from '@lodge/common';

export interface ServerCertificate {
  /** PEM of the certificate. */
  cert: string;
  /** PEM of the private key. */
  key: string;
  /** sha256 of the DER, lower-case hex without separators (LXD's certificate_fingerprint). */
  fingerprint: string;
}

/**
 * Loads <dir>/server.crt + server.key, or creates them on first start: a self-signed ECDSA P-384
 * certificate (as LXD's) with the serverAuth EKU (Juju requires it), valid 10 years. The key is
 * written 0600 before any content goes in. One file without the other is refused, never overwritten.
 */
export async function loadOrCreateServerCertificate(dir: string): Promise<ServerCertificate> {
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  const [hasCert, hasKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (hasCert !== hasKey) {
    throw new SystemError('load server certificate', 'ENOENT', `${hasCert ? keyPath : certPath} is missing; remove the other file to generate a new pair`);
  }
  if (!hasCert) {
    const host = hostname();
    const notBeforeDate = new Date(Date.now() - 60_000);
    const notAfterDate = new Date(notBeforeDate.getTime() + 10 * 365 * 24 * 3600 * 1000);
    const pems = await generate(
      [
        { name: 'commonName', value: `root@${host}` },
        { name: 'organizationName', value: 'Lodge' },
      ],
      {
        keyType: 'ec',
        curve: 'P-384',
        algorithm: 'sha384',
        notBeforeDate,
        notAfterDate,
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: host },
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
            ],
          },
        ],
      },
    );
    const keyFile = await fs.open(keyPath, 'wx', 0o600);
    try {
      await keyFile.writeFile(withNewline(pems.private));
    } finally {
      await keyFile.close();
    }
    await fs.writeFile(certPath, withNewline(pems.cert), { mode: 0o644, flag: 'wx' });
  }
  await fs.chmod(keyPath, 0o600);
  const [cert, key] = await Promise.all([fs.readFile(certPath, 'utf8'), fs.readFile(keyPath, 'utf8')]);
  const fingerprint = new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase();
  return { cert, key, fingerprint };
}

function withNewline(pem: string): string {
  const text = pem.replace(/\r\n/g, '\n');
  return text.endsWith('\n') ? text : text + '\n';
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
