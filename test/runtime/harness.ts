/**
 * Shared test harness: a RuntimeService on a cgroup parent of its own (so tests never touch a
 * running daemon's containers), per-test rootfs copies in a temp dir, and a teardown that kills
 * whatever a failed test left and checks that nothing leaked.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container, probeCgroups, releaseConsoleLog, RuntimeService, SpawnOptions } from '@lodge/runtime';

export const REPO = join(__dirname, '..', '..');
export const IMAGES = join(REPO, '.lodge-test', 'images');
export const BUSYBOX_ROOTFS = join(IMAGES, 'busybox', 'rootfs');
export const PAYLOAD_ROOTFS = join(IMAGES, 'payload-rootfs');

export interface Harness {
  runtime: RuntimeService;
  parent: string;
  dir: string;
  /** a private copy of an image rootfs */
  rootfs(from?: string): string;
  /** spawn with the harness defaults (busybox copy, SIGUSR2 halt, a console log in dir) */
  spawn(name: string, o?: Partial<SpawnOptions>): Promise<Container>;
  teardown(): Promise<void>;
}

let seq = 0;

export function makeHarness(label: string): Harness {
  const parent = `lodge-test-${label}-${process.pid}`;
  const runtime = new RuntimeService({ cgroups: probeCgroups({ parent }) });
  // Made on first use: a test file whose tests are all filtered out never runs its teardown.
  let made: string | undefined;
  const workDir = (): string => (made ??= mkdtempSync(join(tmpdir(), `lodge-${label}-`)));
  const rootfs = (from = BUSYBOX_ROOTFS): string => {
    const dir = workDir();
    const to = join(dir, `rootfs-${++seq}`);
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return to;
  };
  return {
    runtime,
    parent,
    get dir() {
      return workDir();
    },
    rootfs,
    spawn: (name, o = {}) => {
      const dir = workDir();
      // The busybox image sets its hostname from /etc/hostname at boot; LXD writes that file
      // from the image's templates. Here: a per-container file bound read-only over it.
      const hostnameFile = join(dir, `${name}.hostname`);
      writeFileSync(hostnameFile, `${o.hostname ?? name}\n`);
      return runtime.spawn({
        name,
        rootfs: o.rootfs ?? rootfs(),
        haltSignal: 'SIGUSR2',
        consoleLog: join(dir, `${name}.console.log`),
        ...o,
        binds: [{ source: hostnameFile, target: '/etc/hostname', readonly: true }, ...(o.binds ?? [])],
      });
    },
    async teardown() {
      await Promise.all(runtime.list().map((c) => c.kill()));
      await removeCgroupParent(parent);
      if (made) {
        // console logs are append-only: lift that wherever a test put one, then remove everything
        for (const f of readdirSync(made, { recursive: true }) as string[]) if (f.endsWith('console.log')) releaseConsoleLog(join(made, f));
        rmSync(made, { recursive: true, force: true });
      }
    },
  };
}

/** Directories of the test parent in every mounted cgroup hierarchy. */
export function cgroupParentDirs(parent: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const p = join(line.split(' ')[4], parent);
    if (existsSync(p)) out.push(p);
  }
  return out;
}

/** Container cgroups still present below the test parent. */
export function leftoverCgroups(parent: string): string[] {
  return cgroupParentDirs(parent).flatMap((p) =>
    readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(p, d.name)),
  );
}

/** Kills whatever a failed test left in the test parent, waits for it to exit, removes the cgroups. */
export async function removeCgroupParent(parent: string): Promise<void> {
  const children = (): string[] =>
    cgroupParentDirs(parent).flatMap((p) =>
      readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(p, d.name)),
    );
  const pids = (): number[] =>
    children().flatMap((c) => {
      const procs = join(c, 'cgroup.procs');
      return existsSync(procs) ? readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number) : [];
    });
  for (const pid of pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitFor(() => pids().length === 0, 5000);
  for (const c of children()) {
    try {
      rmdirSync(c);
    } catch {
      /* still busy: reported by the leak checks */
    }
  }
  for (const p of cgroupParentDirs(parent)) {
    try {
      rmdirSync(p);
    } catch {
      /* reported by the leak checks */
    }
  }
}

/** Host mounts whose path mentions `needle` (containers' mounts must live only in their own namespace). */
export function hostMountsUnder(needle: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(needle));
}

/** Host processes whose cgroup path contains the test parent. */
export function processesInParent(parent: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cgroup`, 'utf8').includes(`/${parent}/`)) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Runs a command in the container and returns its output (pipes). */
export async function run(c: Container, argv: string[], stdin?: string) {
  const p = await c.exec({ argv });
  if (stdin !== undefined) p.stdin!.end(stdin);
  else p.stdin!.end();
  return p.output();
}

export function sh(c: Container, script: string) {
  return run(c, ['/bin/sh', '-c', script]);
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

export function hostCommand(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}
