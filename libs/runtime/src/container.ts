/**
 * A running system container: its init (tracked through a pidfd, no helper process), its
 * cgroup and what is needed to exec into it again after a daemon restart. Obtained from
 * RuntimeService.spawn() or RuntimeService.adopt().
 */
import { PinnedFiles } from './probes/pinned-files';
import { ConflictError, InvalidArgumentError } from '@lodge/common';
import { CgroupBackend, CgroupHandle, CgroupStats, ResourceLimits } from './cgroup';
import { validateLimits, assertLimitsSupported } from './cgroup';
import { HALT_SIGNAL, REBOOT_SIGNAL, SIGKILL, signalNumber } from './confinement/signals';
import { readConsoleLog } from './console/console-log';
import { ContainerLimits } from './cpus/cpu-allocator';
import { ExecProcess } from './exec-process';
import { NativeAddon, NativeExit } from './native/native-binding';

/** Why init ended: halt/reboot are requests from inside (reboot(2) in the pid namespace). */
export type ExitReason = 'halt' | 'reboot' | 'exited' | 'killed' | 'unknown';

export interface ContainerExit {
  reason: ExitReason;
  exitCode?: number;
  signal?: number;
}

/** Everything needed to re-adopt a running container from a new daemon process. JSON-safe. */
export interface ContainerRecord {
  name: string;
  pid: number;
  /** field 22 of /proc/<pid>/stat: tells a reused pid from ours */
  startTime: string;
  userns: boolean;
  haltSignal: number;
  dropCaps: number[];
  seccomp: boolean;
  consoleLog?: string;
  /** environment exec'd commands get by default */
  env: string[];
  /** CPUs the runtime pinned the container to for a cpuCount limit ("0-1"); undefined when not pinned by count */
  pinnedCpus?: string;
}

export interface ExecOptions {
  argv: string[];
  /** "KEY=value"; defaults to the container's exec environment */
  env?: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  /** allocate a pty of this size (interactive); otherwise stdin/stdout/stderr are pipes */
  pty?: { rows: number; cols: number };
}

export interface StopOptions {
  /** how long init may take to halt before it is killed (default 30 s) */
  timeoutMs?: number;
  /** kill at once */
  force?: boolean;
}

export type ContainerState = 'running' | 'frozen' | 'stopped';

export class Container {
  readonly name: string;
  readonly pid: number;
  /** Resolves once init has ended and its cgroup is gone; never rejects. */
  readonly exited: Promise<ContainerExit>;
  /**
   * The files its state is read from (cgroup counters, /proc/<pid>/net, its sysfs), kept open
   * while it runs so that reading the state of many containers stays cheap.
   */
  readonly stateFiles = new PinnedFiles();
  private exitInfo?: ContainerExit;
  private frozen = false;
  private readonly watchId: number;

  constructor(
    private readonly addon: NativeAddon,
    private readonly cgroups: CgroupBackend,
    private readonly record: ContainerRecord,
    private readonly pidfd: number,
    readonly cgroup: CgroupHandle,
    /** called after cleanup, e.g. to drop the container from the runtime's table */
    onGone: (c: Container) => void,
    /** turns a cpuCount into a cpuset (the runtime knows the other containers' pins) */
    private readonly resolveLimits: (c: Container, limits: ContainerLimits) => { limits: ResourceLimits; pinnedCpus?: string | null },
  ) {
    this.name = record.name;
    this.pid = record.pid;
    let watchId = 0;
    this.exited = new Promise((resolve) => {
      // A running container never keeps the process alive by itself (the daemon has servers for
      // that, and a container outlives it); waiting for its end in stop() or kill() does.
      watchId = addon.watchExit(
        pidfd,
        (exit) => {
          void this.cleanUp(exit).then((info) => {
            this.exitInfo = info;
            onGone(this);
            resolve(info);
          });
        },
        false,
      );
    });
    this.watchId = watchId;
  }

  get state(): ContainerState {
    if (this.exitInfo) return 'stopped';
    return this.frozen ? 'frozen' : 'running';
  }

  describe(): ContainerRecord {
    return { ...this.record, dropCaps: [...this.record.dropCaps], env: [...this.record.env] };
  }

  async exec(o: ExecOptions): Promise<ExecProcess> {
    this.assertRunning('exec');
    if (this.frozen) throw new ConflictError(`container "${this.name}" is frozen`);
    if (!Array.isArray(o.argv) || o.argv.length === 0 || o.argv.some((a) => typeof a !== 'string')) {
      throw new InvalidArgumentError('exec needs a command (argv)');
    }
    for (const id of [o.uid, o.gid]) {
      if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) throw new InvalidArgumentError(`invalid uid/gid ${id}`);
    }
    if (o.pty && (!Number.isInteger(o.pty.rows) || !Number.isInteger(o.pty.cols) || o.pty.rows < 1 || o.pty.cols < 1 || o.pty.rows > 65535 || o.pty.cols > 65535)) {
      throw new InvalidArgumentError('pty rows and cols must be integers in 1..65535');
    }
    const native = await this.addon.exec({
      initPidfd: this.pidfd,
      userns: this.record.userns,
      cgroupProcs: [...this.cgroup.procsFiles],
      argv: o.argv,
      env: o.env ?? this.record.env,
      cwd: o.cwd ?? '/',
      uid: o.uid ?? 0,
      gid: o.gid ?? 0,
      groups: o.groups ?? [],
      pty: !!o.pty,
      rows: o.pty?.rows ?? 24,
      cols: o.pty?.cols ?? 80,
      confine: { seccomp: this.record.seccomp, dropCaps: this.record.dropCaps },
    });
    return new ExecProcess(this.addon, native);
  }

  /** Asks init to halt with the image's halt signal, kills it after the timeout. */
  async stop(o: StopOptions = {}): Promise<ContainerExit> {
    if (this.exitInfo) return this.exitInfo;
    if (o.force) return this.kill();
    const timeoutMs = o.timeoutMs ?? 30_000;
    if (this.frozen) await this.thaw();
    this.addon.setWatchKeepAlive(this.watchId, true);
    this.addon.pidfdSendSignal(this.pidfd, this.record.haltSignal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    return result ?? this.kill();
  }

  /** SIGKILL to init: the kernel then kills everything in its pid namespace. */
  async kill(): Promise<ContainerExit> {
    if (this.exitInfo) return this.exitInfo;
    this.addon.setWatchKeepAlive(this.watchId, true);
    this.addon.pidfdSendSignal(this.pidfd, SIGKILL);
    // A frozen task handles SIGKILL only once thawed.
    if (this.frozen) await this.thaw().catch(() => undefined);
    return this.exited;
  }

  /** Sends any signal to init. */
  signal(signal: string | number): boolean {
    if (this.exitInfo) return false;
    return this.addon.pidfdSendSignal(this.pidfd, signalNumber(signal));
  }

  async freeze(): Promise<void> {
    this.assertRunning('freeze');
    await this.cgroups.freeze(this.cgroup);
    this.frozen = true;
  }

  /** Re-adoption of a container an earlier daemon froze: it is still frozen. */
  markFrozen(): void {
    this.frozen = true;
  }

  async thaw(): Promise<void> {
    this.assertRunning('thaw');
    await this.cgroups.thaw(this.cgroup);
    this.frozen = false;
  }

  /** Changes limits on the running container; only the keys given change. */
  async setLimits(limits: ContainerLimits): Promise<void> {
    this.assertRunning('change limits of');
    const resolved = this.resolveLimits(this, limits);
    validateLimits(resolved.limits);
    assertLimitsSupported(resolved.limits, this.cgroups.capabilities);
    await this.cgroups.update(this.cgroup, resolved.limits);
    if (resolved.pinnedCpus !== undefined) this.record.pinnedCpus = resolved.pinnedCpus ?? undefined;
  }

  async stats(): Promise<CgroupStats> {
    this.assertRunning('read usage of');
    return this.cgroups.stats(this.cgroup, this.stateFiles);
  }

  /** The console log (the last `maxBytes` of it when given). */
  consoleOutput(maxBytes?: number): string {
    return this.record.consoleLog ? readConsoleLog(this.record.consoleLog, maxBytes) : '';
  }

  private assertRunning(what: string): void {
    if (this.exitInfo) throw new ConflictError(`cannot ${what} container "${this.name}": it is not running`);
  }

  private async cleanUp(exit: NativeExit): Promise<ContainerExit> {
    this.addon.closeFd(this.pidfd);
    this.stateFiles.close();
    // Init is gone, so the kernel is killing the rest of its pid namespace; stragglers in the
    // cgroup (none expected) are killed too before the cgroup goes.
    try {
      await this.cgroups.killAll(this.cgroup);
      await this.cgroups.destroy(this.cgroup);
    } catch {
      // a cgroup that could not be removed now is removed by the next spawn of this name
    }
    this.frozen = false;
    if (!exit.known) return { reason: 'unknown' };
    if (exit.exitCode !== undefined) return { reason: 'exited', exitCode: exit.exitCode };
    if (exit.signal === REBOOT_SIGNAL) return { reason: 'reboot', signal: exit.signal };
    if (exit.signal === HALT_SIGNAL) return { reason: 'halt', signal: exit.signal };
    return { reason: 'killed', signal: exit.signal };
  }
}
