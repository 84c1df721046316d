/**
 * A real lodged with the whole engine for end-to-end tests: a database of its own on the test
 * PostgreSQL, a temp state dir, a cgroup parent of its own and the busybox test image. cleanup()
 * kills its containers, unmounts and removes everything it made, also after a failed test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { InstancesService } from '@lodge/instance';
import { BridgeDriver, DnsmasqSupervisor, NetlinkLinks, NetworkFirewall } from '@lodge/network';
import type { DefaultNetworkOptions } from '@lodge/network';
import { releaseConsoleLog, RuntimeService } from '@lodge/runtime';
import { ImageStore } from '@lodge/image';
import { ImagesRepository, openStateDataSource } from '@lodge/state';
import { createTestDatabase, TestDatabase } from '../../../libs/state/test/test-database';
import { IMAGES, removeCgroupParent } from '../../../test/runtime/harness';
import { engineModules } from '../src/api-modules';
import { DaemonHandle, startDaemon } from '../src/bootstrap';
import type { NovaOptions } from '../src/nova/nova.module';
import { PgCertificateStore } from '../src/persistence/pg-certificate.store';
import { PgServerConfigStore } from '../src/persistence/pg-server-config.store';
import { ServerConfigRepository } from '@lodge/state';
import { call, RawResponse } from './support';

export { IMAGES };
export const BUSYBOX_UNIFIED = join(IMAGES, 'busybox.tar.xz');

export interface EngineDaemon {
  dir: string;
  socket: string;
  parent: string;
  db: TestDatabase;
  dataSource: DataSource;
  daemon: DaemonHandle;
  runtime: RuntimeService;
  instances: InstancesService;
  /** one request over the unix socket */
  api(method: string, path: string, options?: Parameters<typeof call>[3]): Promise<RawResponse>;
  /** waits for an async response's operation and returns the finished operation */
  waitOp(res: RawResponse): Promise<any>;
  /** closes the daemon (containers keep running), as a daemon restart does */
  stop(): Promise<void>;
  /** starts the daemon again on the same dir and database */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * `defaultNetwork`: the first start's managed bridge (none unless given: parallel test daemons
 * must not all make lodgebr0).
 */
export async function startEngineDaemon(
  label: string,
  o: { dir?: string; defaultNetwork?: DefaultNetworkOptions; nova?: Omit<NovaOptions, 'stateDir'> } = {},
): Promise<EngineDaemon> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `lodge-${label}-`));
  const parent = `lodge-test-${label}-${process.pid}`;
  const db = await createTestDatabase();
  let dataSource: DataSource | undefined;
  let daemon: DaemonHandle | undefined;
  const open = async () => {
    dataSource = await openStateDataSource({ url: db.url });
    daemon = await startDaemon({
      dir,
      serverConfigStore: new PgServerConfigStore(new ServerConfigRepository(dataSource)),
      certificateStore: new PgCertificateStore(dataSource),
      modules: engineModules({ dir, dataSource, cgroupParent: parent, defaultNetwork: o.defaultNetwork ?? false }),
      nova: o.nova ? { ...o.nova, stateDir: dir } : undefined,
    });
  };
  const close = async () => {
    await daemon?.close();
    await dataSource?.destroy().catch(() => undefined);
    daemon = undefined;
  };
  const cleanup = async () => {
    try {
      // the host side of every network the daemon still has (dnsmasq, nft table, bridge)
      const networks: Array<{ name: string }> = dataSource ? await dataSource.query('SELECT name FROM networks').catch(() => []) : [];
      await close();
      const bridges = new BridgeDriver(new NetlinkLinks(), new NetworkFirewall(), new DnsmasqSupervisor(), { dir: join(dir, 'networks'), autoSubnetPool: [] });
      for (const n of networks) await bridges.remove(n.name).catch(() => undefined);
    } finally {
      await removeCgroupParent(parent);
      unmountUnder(dir);
      releaseConsoleLogsUnder(dir);
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  };
  try {
    await open();
  } catch (err) {
    await cleanup();
    throw err;
  }
  const socket = join(dir, 'unix.socket');
  const api = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(socket, method, path, options);
  const handle: EngineDaemon = {
    dir,
    socket,
    parent,
    db,
    get dataSource() {
      return dataSource!;
    },
    get daemon() {
      return daemon!;
    },
    get runtime() {
      return daemon!.app.get(RuntimeService);
    },
    get instances() {
      return daemon!.app.get(InstancesService);
    },
    api,
    async waitOp(res: RawResponse) {
      if (res.status !== 202) throw new Error(`expected an async response, got ${res.status}: ${res.text}`);
      const op = res.json.operation as string;
      const done = await api('GET', `${op}/wait?timeout=120`);
      return done.json.metadata;
    },
    stop: close,
    restart: async () => {
      await close();
      await open();
    },
    cleanup,
  };
  return handle;
}

/** Unmounts (lazily, deepest first) every host mount below `dir`. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}

/** Host mounts below `dir` (a leak check). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && p.startsWith(dir + '/'));
}

function releaseConsoleLogsUnder(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith('console.log')) releaseConsoleLog(join(dir, f));
}

/**
 * Puts the busybox test image into the daemon's store with an alias, through the engine (not the
 * images API), for tests about other endpoints. Returns its fingerprint.
 */
export async function importBusybox(d: EngineDaemon, alias: string): Promise<string> {
  const store = d.daemon.app.get(ImageStore);
  const images = d.daemon.app.get(ImagesRepository);
  const info = await store.importUnified(BUSYBOX_UNIFIED, { unpack: false });
  await images.create({ fingerprint: info.fingerprint, size: info.size, architecture: info.architecture, filename: 'busybox.tar.xz' });
  await images.createAlias({ name: alias, fingerprint: info.fingerprint });
  return info.fingerprint;
}
