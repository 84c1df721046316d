/** Fetches the certificate a TLS server presents, before we trust it (the first step of `remote add`). */
import { connect } from 'node:tls';

export function fetchServerCertificate(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 8443), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      if (!cert?.raw) return reject(new Error(`${url} presented no certificate`));
      const b64 = cert.raw.toString('base64').replace(/(.{64})/g, '$1\n');
      resolve(`-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`);
    });
    socket.once('error', reject);
  });
}

/** `host`, `host:port` or `https://host[:port]` to `https://host:port` (8443 by default, as lxc). */
export function normalizeRemoteUrl(addr: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(addr) ? addr : `https://${addr}`;
  const u = new URL(withScheme);
  if (u.protocol !== 'https:') throw new Error(`Unsupported remote address ${addr}: expected https://host[:port]`);
  return `https://${u.port ? u.host : `${u.host}:8443`}`;
}
