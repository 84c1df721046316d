/**
 * The client's own configuration (~/.config/lodge, or LODGE_CONF): the remotes added with
 * `lodge remote add`, the client certificate presented to them, and each remote's pinned
 * server certificate (servercerts/<name>.crt). The `local` remote is the unix socket.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { parse, stringify } from 'yaml';

export interface RemoteEntry {
  addr: string;
}

export interface ConfigFile {
  'default-remote': string;
  remotes: Record<string, RemoteEntry>;
}

export const LOCAL_REMOTE = 'local';

export class RemoteConfig {
  constructor(readonly dir: string) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): RemoteConfig {
    return new RemoteConfig(env.LODGE_CONF || join(env.HOME || homedir(), '.config', 'lodge'));
  }

  private get file(): string {
    return join(this.dir, 'config.yml');
  }

  load(): ConfigFile {
    if (!existsSync(this.file)) return { 'default-remote': LOCAL_REMOTE, remotes: {} };
    const parsed = (parse(readFileSync(this.file, 'utf8')) ?? {}) as Partial<ConfigFile>;
    return { 'default-remote': parsed['default-remote'] || LOCAL_REMOTE, remotes: parsed.remotes ?? {} };
  }

  save(c: ConfigFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.file, stringify(c), { mode: 0o600 });
  }

  serverCertPath(name: string): string {
    return join(this.dir, 'servercerts', `${name}.crt`);
  }

  serverCert(name: string): string | undefined {
    const p = this.serverCertPath(name);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  }

  saveServerCert(name: string, pem: string): void {
    mkdirSync(join(this.dir, 'servercerts'), { recursive: true, mode: 0o700 });
    writeFileSync(this.serverCertPath(name), pem, { mode: 0o644 });
  }

  removeServerCert(name: string): void {
    rmSync(this.serverCertPath(name), { force: true });
  }

  /** The client certificate, made on first use (ECDSA P-256, clientAuth, as `lxc` makes its own). */
  async clientIdentity(): Promise<{ cert: string; key: string }> {
    const certPath = join(this.dir, 'client.crt');
    const keyPath = join(this.dir, 'client.key');
    if (existsSync(certPath) && existsSync(keyPath)) return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    const user = process.env.USER || 'lodge';
    const pems = await generate([{ name: 'commonName', value: `${user}@lodge` }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
      extensions: [{ name: 'extKeyUsage', clientAuth: true }],
    });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert, { mode: 0o644 });
    return { cert: pems.cert, key: pems.private };
  }
}
