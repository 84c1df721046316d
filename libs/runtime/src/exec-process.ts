/**
 * A command running inside a container, started by Container.exec(). Without a pty, stdin,
 * stdout and stderr are separate pipes; with a pty, `pty` is one duplex stream (the master side)
 * and `resize()` changes the window size.
 */
import { Socket } from 'node:net';
import { Duplex, Readable, Writable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { NativeAddon, NativeExecResult, NativeExit } from './native/native-binding';
import { signalNumber } from './confinement/signals';

export interface ExecExit {
  /** set when the command exited normally */
  exitCode?: number;
  /** set when a signal ended it */
  signal?: number;
}

export class ExecProcess {
  readonly pid: number;
  readonly stdin?: Writable;
  readonly stdout?: Readable;
  readonly stderr?: Readable;
  readonly pty?: Duplex;
  /** Resolves when the command has ended; never rejects. */
  readonly exited: Promise<ExecExit>;
  private done = false;

  constructor(
    private readonly addon: NativeAddon,
    private readonly native: NativeExecResult,
  ) {
    this.pid = native.pid;
    if (native.ptyMaster >= 0) {
      const pty = new ReadStream(native.ptyMaster, { writable: true } as never) as unknown as Duplex;
      // The master reads EIO once the last slave holder has gone: that is the end of output.
      // Any other error reaches the caller's own 'error' listeners; rethrowing it here would
      // take the whole daemon down for one session's terminal.
      pty.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EIO') pty.push(null);
      });
      this.pty = pty;
    } else {
      this.stdin = new Socket({ fd: native.stdin, readable: false, writable: true });
      this.stdout = new Socket({ fd: native.stdout, readable: true, writable: false });
      this.stderr = new Socket({ fd: native.stderr, readable: true, writable: false });
      // A command that never reads its stdin makes our writes fail with EPIPE: not an error for us.
      this.stdin.on('error', () => undefined);
    }
    this.exited = new Promise<ExecExit>((resolve) => {
      // An exec'd command is foreground work: its watch keeps Node running until it ends.
      addon.watchExit(
        native.pidfd,
        (exit: NativeExit) => {
          this.done = true;
          addon.closeFd(native.pidfd);
          resolve(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : { signal: exit.signal });
        },
        true,
      );
    });
  }

  /** Sends a signal (name or number) to the command; false if it has already ended. */
  signal(signal: string | number): boolean {
    if (this.done) return false;
    return this.addon.pidfdSendSignal(this.native.pidfd, signalNumber(signal));
  }

  /** Changes the pty's window size; the command receives SIGWINCH. */
  resize(rows: number, cols: number): void {
    if (this.native.ptyMaster < 0) throw new Error('resize needs a pty');
    this.addon.setWindowSize(this.native.ptyMaster, rows, cols);
  }

  /** Collects stdout and stderr as text and waits for the end (pipes only). */
  async output(): Promise<ExecExit & { stdout: string; stderr: string }> {
    const collect = (s?: Readable): Promise<string> =>
      new Promise((resolve) => {
        if (!s) return resolve('');
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        s.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
    const [stdout, stderr, exit] = await Promise.all([collect(this.stdout), collect(this.stderr), this.exited]);
    return { ...exit, stdout, stderr };
  }
}
