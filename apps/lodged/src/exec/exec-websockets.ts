/**
 * The websockets of one exec (LXD's execWs): a secret per fd in the operation's metadata, each
 * connected through GET /1.0/operations/{id}/websocket?secret=. Non-interactive: "0" stdin,
 * "1" stdout, "2" stderr; interactive: "0" is the pty both ways. "control" carries window
 * resizes and signals; its close kills the command. Data travels in binary messages; an empty
 * message (or a close) on stdin is its end of file; each output socket is closed at its end.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { ExecProcess } from '@lodge/runtime';
import type { OperationSocketHandler } from '../operations/operation';

/** How long the client has to connect every data socket after the operation is created (LXD: 10 s). */
export const CONNECT_TIMEOUT_MS = 10_000;
const SIGKILL = 9;

export class ExecWebsockets {
  /** fd name -> secret, as the operation's metadata.fds shows it */
  readonly fds: Record<string, string>;
  private readonly conns = new Map<string, WebSocket>();
  private proc?: ExecProcess;
  private finished = false;
  /** control messages that came before the command started */
  private pendingControl: Buffer[] = [];
  private allConnected!: () => void;
  private readonly connected = new Promise<void>((resolve) => (this.allConnected = resolve));

  constructor(private readonly interactive: boolean) {
    const names = interactive ? ['0', 'control'] : ['0', '1', '2', 'control'];
    this.fds = Object.fromEntries(names.map((n) => [n, randomBytes(32).toString('hex')]));
  }

  /** The operation's connect(): the handler for a known secret, undefined otherwise. */
  connect(secret: string): OperationSocketHandler | undefined {
    const fd = Object.keys(this.fds).find((n) => sameSecret(this.fds[n], secret));
    if (fd === undefined || this.conns.has(fd) || this.finished) return undefined;
    return (ws) => this.attach(fd, ws);
  }

  /** Resolves once every data socket is there (control may come later); rejects after the timeout. */
  async waitForClients(signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Timed out waiting for websockets to connect')), CONNECT_TIMEOUT_MS);
      signal.addEventListener('abort', () => reject(new Error('Operation cancelled')), { once: true });
    });
    try {
      await Promise.race([this.connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Connects the started command to the sockets; resolves when its output has been sent and
   * the output sockets are closed (or the command is gone and its output ended).
   */
  async pump(proc: ExecProcess): Promise<void> {
    this.proc = proc;
    for (const m of this.pendingControl) this.control(m);
    this.pendingControl = [];
    if (this.conns.has('control') && this.conns.get('control')!.readyState !== 1) proc.signal(SIGKILL);
    const outputs: Promise<void>[] = [];
    if (proc.pty) {
      this.feedInput('0', proc.pty);
      outputs.push(sendOutput(proc.pty, this.conns.get('0')!));
    } else {
      this.feedInput('0', proc.stdin!);
      outputs.push(sendOutput(proc.stdout!, this.conns.get('1')!), sendOutput(proc.stderr!, this.conns.get('2')!));
    }
    await Promise.all(outputs);
  }

  /** Closes whatever is still open (the end of the operation). */
  close(): void {
    this.finished = true;
    for (const ws of this.conns.values()) {
      if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000);
    }
  }

  private attach(fd: string, ws: WebSocket): void {
    this.conns.set(fd, ws);
    ws.on('error', () => undefined); // a client that goes away is not the daemon's problem
    if (fd === 'control') {
      ws.on('message', (data: RawData) => this.control(toBuffer(data)));
      // LXD: the client hanging up its control socket ends the command
      ws.on('close', () => {
        if (!this.finished) this.proc?.signal(SIGKILL);
      });
    } else if (fd === '0') {
      // input that arrives before the command starts waits in ws's own buffer
      ws.pause();
    }
    const dataFds = Object.keys(this.fds).filter((n) => n !== 'control');
    if (dataFds.every((n) => this.conns.has(n))) this.allConnected();
  }

  /** Messages of socket `fd` into the command's input; an empty message or a close ends it. */
  private feedInput(fd: string, input: Writable): void {
    const ws = this.conns.get(fd)!;
    const end = () => {
      // a pty has no end of file of its own: the command sees its terminal hang up when it exits
      if (!this.interactive) input.end();
    };
    ws.on('message', (data: RawData) => {
      const chunk = toBuffer(data);
      if (chunk.length === 0) return end();
      if (!input.write(chunk)) {
        ws.pause();
        input.once('drain', () => ws.resume());
      }
    });
    ws.on('close', end);
    input.on('error', () => undefined);
    ws.resume();
  }

  private control(message: Buffer): void {
    if (!this.proc) {
      this.pendingControl.push(message);
      return;
    }
    let m: { command?: unknown; args?: Record<string, unknown>; signal?: unknown };
    try {
      m = JSON.parse(message.toString('utf8'));
    } catch {
      return; // LXD ignores what it cannot decode
    }
    if (m.command === 'window-resize' && this.proc.pty) {
      const cols = Number(m.args?.width);
      const rows = Number(m.args?.height);
      if (Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0 && cols <= 65535 && rows <= 65535) this.proc.resize(rows, cols);
    } else if (m.command === 'signal' && Number.isInteger(m.signal) && (m.signal as number) > 0 && (m.signal as number) < 65) {
      this.proc.signal(m.signal as number);
    }
  }
}

/** Streams `out` into `ws` as binary messages, one in flight at a time; closes `ws` at the end. */
function sendOutput(out: Readable, ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.removeAllListeners('data');
      if (ws.readyState === 1) ws.close(1000);
      resolve();
    };
    out.on('data', (chunk: Buffer) => {
      if (ws.readyState !== 1) return; // the client left: the output is drained and dropped
      out.pause();
      ws.send(chunk, { binary: true }, () => out.resume());
    });
    out.once('end', done);
    out.once('close', done);
    out.once('error', done);
  });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
