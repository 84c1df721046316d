/**
 * What every command needs: the global options (--dir, --remote, --project), the client for a
 * remote, `[remote:]name` resolution and the process's streams (injectable for tests).
 */
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { LxdClient } from './client/lxd-client';
import { LOCAL_REMOTE, RemoteConfig } from './remotes/remote-config';
import { parseTarget } from './remotes/target';

export const DEFAULT_DIR = '/var/lib/lodge';

export interface CliIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  signals: NodeJS.EventEmitter;
}

export interface GlobalOptions {
  dir?: string;
  remote?: string;
  project?: string;
}

export class CliContext {
  /** the process exit code once the command is done (exec passes the command's own) */
  exitCode = 0;

  constructor(
    private readonly program: Command,
    readonly io: CliIo,
  ) {}

  get globals(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  get config(): RemoteConfig {
    return RemoteConfig.fromEnv(this.io.env);
  }

  /** The unix socket of the local daemon: --dir, else LODGE_DIR, else /var/lib/lodge. */
  get socketPath(): string {
    return join(this.globals.dir || this.io.env.LODGE_DIR || DEFAULT_DIR, 'unix.socket');
  }

  /** The remote a command talks to: the one named in its argument, else --remote, else the default. */
  remoteName(explicit?: string): string {
    return explicit || this.globals.remote || this.config.load()['default-remote'];
  }

  async connect(explicit?: string): Promise<LxdClient> {
    const name = this.remoteName(explicit);
    const project = this.globals.project;
    if (name === LOCAL_REMOTE) return new LxdClient({ kind: 'unix', socketPath: this.socketPath }, project);
    const config = this.config;
    const entry = config.load().remotes[name];
    if (!entry) throw new Error(`Remote ${name} doesn't exist`);
    if (entry.addr.startsWith('unix://')) return new LxdClient({ kind: 'unix', socketPath: entry.addr.slice('unix://'.length) }, project);
    const id = await config.clientIdentity();
    return new LxdClient({ kind: 'https', url: entry.addr, clientCert: id.cert, clientKey: id.key, serverCert: config.serverCert(name) }, project);
  }

  /** `[remote:]name` to the client of that remote and the bare name. */
  async target(arg: string): Promise<{ client: LxdClient; name: string }> {
    const t = parseTarget(arg);
    return { client: await this.connect(t.remote), name: t.name };
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
  }

  err(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }
}
