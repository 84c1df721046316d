/**
 * Typed face of the native addon (native/). Only the runtime imports this file; everything
 * above the runtime talks to RuntimeService.
 */
export const enum MountKind {
  Fs = 0,
  Bind = 1,
  Symlink = 2,
  Mkdir = 3,
}

/**
 * Setup: run as host root in a mount namespace the host owns (binds of host paths and the tmpfs
 * trees they live in); the container's copy of that namespace locks them. Container: run as
 * container root (proc, sysfs, cgroup, devpts, mqueue: filesystems of its own namespaces).
 */
export const enum MountStage {
  Setup = 0,
  Container = 1,
}

export const enum MkdirKind {
  None = 0,
  Dir = 1,
  File = 2,
}

/** One step of the mount plan the child executes below the new root before pivot_root. */
export interface NativeMount {
  kind: MountKind;
  /** path inside the container */
  target: string;
  source?: string;
  fstype?: string;
  data?: string;
  flags?: number;
  mkdir?: MkdirKind;
  mode?: number;
  readonly?: boolean;
  recursive?: boolean;
  optional?: boolean;
  /** binds: shift host ownership into the container's user namespace (idmapped) */
  idmap?: boolean;
  /** binds: the source is a path inside the new root */
  sourceInRoot?: boolean;
  /** who runs it: MountStage.Setup (host root, then locked by the namespace copy) or MountStage.Container */
  stage: MountStage;
  linkTo?: string;
}

export interface NativeConfinement {
  seccomp: boolean;
  dropCaps: number[];
}

export interface NativeSpawnOptions {
  rootfs: string;
  argv: string[];
  env: string[];
  hostname?: string;
  userns: boolean;
  uidMap?: string;
  gidMap?: string;
  netnsFd?: number;
  idmapRootfs?: boolean;
  /** the rootfs as an overlay of an image rootfs and the container's upper layer */
  overlay?: { lower: string; lowerMount: string; upper: string; work: string };
  /** host ids of the container's root: owner of what the setup stage creates */
  rootUid?: number;
  rootGid?: number;
  mounts: NativeMount[];
  cgroupProcs: string[];
  consoleFd?: number;
  cwd?: string;
  confine: NativeConfinement;
  /** hold init once its namespaces, maps and cgroups exist: resumeSpawn() or abortSpawn() then */
  hold?: boolean;
}

export interface NativeSpawnResult {
  pid: number;
  pidfd: number;
  /** with `hold`: the token for resumeSpawn / abortSpawn */
  hold?: number;
}

export interface NativeExecOptions {
  initPidfd: number;
  userns: boolean;
  cgroupProcs: string[];
  argv: string[];
  env: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  pty?: boolean;
  rows?: number;
  cols?: number;
  confine: NativeConfinement;
}

export interface NativeExecResult {
  pid: number;
  pidfd: number;
  ptyMaster: number;
  stdin: number;
  stdout: number;
  stderr: number;
}

export interface NativeExit {
  /** false when the process was not our child (re-adopted): it ended, how is unknown. */
  known: boolean;
  exitCode?: number;
  signal?: number;
  coreDumped?: boolean;
}

/** Errors thrown by the addon carry the failing step and the errno name. */
export interface NativeError extends Error {
  step: string;
  code: string;
  errno: number;
}

export interface NativeAddon {
  spawn(options: NativeSpawnOptions): Promise<NativeSpawnResult>;
  /** A held init goes on to its execve; rejects (init killed and reaped) when it cannot. */
  resumeSpawn(hold: number): Promise<{ pid: number; pidfd: number }>;
  /** A held init is killed and reaped. Its pidfd stays the caller's to close. */
  abortSpawn(hold: number): void;
  exec(options: NativeExecOptions): Promise<NativeExecResult>;
  /** Calls back once when the process behind pidfd ends; returns a watch id. keepAlive: the
   *  watch holds the event loop open (else a running container never keeps Node alive). */
  watchExit(pidfd: number, callback: (exit: NativeExit) => void, keepAlive: boolean): number;
  /** Changes keepAlive of a watch; a no-op once it has fired. */
  setWatchKeepAlive(watchId: number, keepAlive: boolean): void;
  pidfdOpen(pid: number): number;
  /** false when the process is already gone */
  pidfdSendSignal(pidfd: number, signal: number): boolean;
  closeFd(fd: number): void;
  setWindowSize(fd: number, rows: number, cols: number): void;
  setAppendOnly(fd: number, on: boolean): boolean;
  errnoName(errno: number): string;
}

/** Duck-typed: errors made by the addon come from the main realm, where `instanceof Error` of
 *  another realm (jest's sandbox) is false. */
export function isNativeError(err: unknown): err is NativeError {
  return typeof err === 'object' && err !== null && typeof (err as NativeError).step === 'string' && typeof (err as NativeError).code === 'string';
}

let loaded: NativeAddon | undefined;

export function loadNativeAddon(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('@lodge/native') as NativeAddon;
  return loaded;
}
