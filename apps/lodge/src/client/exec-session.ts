/**
 * `lodge exec` over LXD's exec protocol: POST /1.0/instances/{name}/exec with
 * wait-for-websocket, then one websocket per fd secret in the operation metadata
 * (0/1/2/control with pipes, 0/control with a pty). Data travels as binary frames, an empty
 * text frame (or a close) ends a stream, the control socket carries window-resize and signal
 * messages, and the exit code is the finished operation's metadata.return.
 */
import type { Readable, Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { LxdClient, Operation } from './lxd-client';

export interface ExecOptions {
  command: string[];
  environment: Record<string, string>;
  interactive: boolean;
  cwd?: string;
  user?: number;
  group?: number;
}

export interface ExecIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { columns?: number; rows?: number };
  stderr: Writable;
  /** where SIGWINCH and the forwarded signals come from (the process in real use) */
  signals: NodeJS.EventEmitter;
}

/** Signals forwarded to the command instead of ending `lodge` (as `lxc exec` does). */
const FORWARDED: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
  ['SIGQUIT', 3],
];

/** The exec request body, in LXD's field names; user/group/cwd only when given (they need an extension). */
export function execRequestBody(o: ExecOptions, size?: { width: number; height: number }): Record<string, unknown> {
  return {
    command: o.command,
    environment: o.environment,
    interactive: o.interactive,
    'wait-for-websocket': true,
    'record-output': false,
    ...(o.interactive && size ? { width: size.width, height: size.height } : {}),
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.group !== undefined ? { group: o.group } : {}),
  };
}

/** Runs the command; resolves with its exit code. */
export async function runExec(client: LxdClient, instance: string, o: ExecOptions, io: ExecIo): Promise<number> {
  const size = { width: io.stdout.columns ?? 80, height: io.stdout.rows ?? 24 };
  const env = await client.request<Operation>('POST', `/1.0/instances/${encodeURIComponent(instance)}/exec`, { json: execRequestBody(o, size) });
  const opUrl = env.operation || `/1.0/operations/${env.metadata.id}`;
  const fds: Record<string, string> = env.metadata.metadata?.fds ?? {};
  const open = (fd: string) => {
    if (!fds[fd]) throw new Error(`The exec operation has no websocket for fd ${fd}`);
    return client.websocket(`${opUrl}/websocket?secret=${encodeURIComponent(fds[fd])}`);
  };
  const sockets: WebSocket[] = [];
  const cleanups: Array<() => void> = [];
  try {
    const control = await open('control');
    sockets.push(control);
    const fd0 = await open('0');
    sockets.push(fd0);
    const outputs: Array<Promise<void>> = [];
    if (o.interactive) {
      outputs.push(pump(fd0, io.stdout));
    } else {
      const fd1 = await open('1');
      const fd2 = await open('2');
      sockets.push(fd1, fd2);
      outputs.push(pump(fd1, io.stdout), pump(fd2, io.stderr));
    }
    cleanups.push(feedStdin(io.stdin, fd0, o.interactive));
    cleanups.push(forwardSignals(control, io, o.interactive));
    const op = await client.wait(opUrl);
    // the command has exited; what it wrote is still arriving on the output sockets
    await Promise.race([Promise.all(outputs), new Promise((r) => setTimeout(r, 2000).unref())]);
    const code = op.metadata?.return;
    if (typeof code !== 'number') throw new Error('The exec operation ended without an exit code');
    return code;
  } finally {
    for (const c of cleanups.reverse()) c();
    for (const s of sockets) s.terminate();
  }
}

/** Copies a socket's binary frames to `out`; resolves at the empty text frame or the close. */
function pump(ws: WebSocket, out: Writable): Promise<void> {
  return new Promise((resolve) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = toBuffer(data);
      if (!isBinary && buf.length === 0) return resolve();
      out.write(buf);
    });
    ws.once('close', () => resolve());
    ws.once('error', () => resolve());
  });
}

/** Sends stdin as binary frames on fd 0; at its end, the empty text frame that means EOF. */
function feedStdin(stdin: ExecIo['stdin'], fd0: WebSocket, raw: boolean): () => void {
  const wasRaw = raw && stdin.isTTY && stdin.setRawMode ? (stdin.setRawMode(true), true) : false;
  const onData = (chunk: Buffer) => {
    if (fd0.readyState === fd0.OPEN) fd0.send(chunk, { binary: true });
  };
  const onEnd = () => {
    if (fd0.readyState === fd0.OPEN) fd0.send('', { binary: false });
  };
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    if (wasRaw) stdin.setRawMode!(false);
  };
}

/** Window size changes (pty) and the usual terminating signals go to the command. */
function forwardSignals(control: WebSocket, io: ExecIo, interactive: boolean): () => void {
  const send = (msg: unknown) => {
    if (control.readyState === control.OPEN) control.send(JSON.stringify(msg));
  };
  const onWinch = () =>
    send({ command: 'window-resize', args: { width: String(io.stdout.columns ?? 80), height: String(io.stdout.rows ?? 24) } });
  const handlers = FORWARDED.map(([name, num]) => [name, () => send({ command: 'signal', signal: num })] as const);
  // with a pty, ^C is a byte for the terminal in the container, not a signal here
  if (!interactive) for (const [name, h] of handlers) io.signals.on(name, h);
  if (interactive) io.signals.on('SIGWINCH', onWinch);
  return () => {
    for (const [name, h] of handlers) io.signals.off(name, h);
    io.signals.off('SIGWINCH', onWinch);
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}
