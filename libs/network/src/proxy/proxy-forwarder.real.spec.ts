import { ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, Server } from 'node:net';
import { NetworkNamespaceRef } from './netns-socket';
import { ProxyForwarder } from './proxy-forwarder';

/**
 * A real network namespace with its own loopback and echo services on it (as a container would
 * run them), and the forwarder bridging a host loopback port to them. Traffic stays on
 * 127.0.0.1 of the host and of the namespace.
 */
const ECHO_SERVICES = `
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("127.0.0.1", 7000)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 7001))
def tcp():
    while True:
        c, a = t.accept()
        def serve(c=c, a=a):
            data = c.recv(100)
            c.sendall(b"pong:" + data + b" from " + a[0].encode()); c.close()
        threading.Thread(target=serve, daemon=True).start()
def udp():
    while True:
        d, a = u.recvfrom(100); u.sendto(b"pong:" + d, a)
threading.Thread(target=tcp, daemon=True).start(); print("ready", flush=True); udp()
`;

async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function tcpRoundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write(text));
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    c.on('close', () => resolve(got));
    c.on('error', reject);
    c.setTimeout(5000, () => c.destroy(new Error('timeout')));
  });
}

describe('a proxy device forwarder (host loopback -> a network namespace)', () => {
  let ns: ChildProcess;
  const forwarders: ProxyForwarder[] = [];

  beforeAll(async () => {
    // the namespace holder: loopback up, then the echo services (python, as a container's service)
    ns = spawn('unshare', ['--net', 'sh', '-c', `ip link set lo up && exec /usr/bin/python3 -c '${ECHO_SERVICES}'`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      ns.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      ns.once('exit', (code) => reject(new Error(`namespace holder exited with ${code}`)));
    });
  });
  afterEach(() => {
    for (const f of forwarders.splice(0)) f.close();
  });
  afterAll(() => {
    if (ns.exitCode === null) ns.kill('SIGKILL');
  });

  it('forwards TCP connections to a service on the namespace\'s own loopback', async () => {
    const port = await freePort();
    forwarders.push(await ProxyForwarder.start({ listen: `tcp:127.0.0.1:${port}`, connect: 'tcp:127.0.0.1:7000' }, NetworkNamespaceRef.ofProcess(ns.pid!)));
    expect(await tcpRoundTrip(port, 'one')).toBe('pong:one from 127.0.0.1');
    // many at once, each its own connection
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => tcpRoundTrip(port, `n${i}`)));
    expect(replies).toEqual(Array.from({ length: 10 }, (_, i) => `pong:n${i} from 127.0.0.1`));
  });

  it('forwards UDP datagrams and brings the replies back to each client', async () => {
    const port = await freePort();
    forwarders.push(await ProxyForwarder.start({ listen: `udp:127.0.0.1:${port}`, connect: 'udp:127.0.0.1:7001' }, NetworkNamespaceRef.ofProcess(ns.pid!)));
    const ask = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const s = createSocket('udp4');
        const timer = setTimeout(() => (s.close(), reject(new Error('no reply'))), 5000);
        s.on('message', (m) => (clearTimeout(timer), s.close(), resolve(m.toString())));
        s.send(text, port, '127.0.0.1');
      });
    expect(await Promise.all([ask('a'), ask('b'), ask('c')])).toEqual(['pong:a', 'pong:b', 'pong:c']);
  });

  it('refuses a listen address that is taken, with a clear error', async () => {
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      await expect(ProxyForwarder.start({ listen: `tcp:127.0.0.1:${port}`, connect: 'tcp:127.0.0.1:7000' }, NetworkNamespaceRef.ofProcess(ns.pid!))).rejects.toThrow(
        `Cannot listen on tcp:127.0.0.1:${port}: the address is already in use`,
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('stops listening when closed', async () => {
    const port = await freePort();
    const f = await ProxyForwarder.start({ listen: `tcp:127.0.0.1:${port}`, connect: 'tcp:127.0.0.1:7000' }, NetworkNamespaceRef.ofProcess(ns.pid!));
    expect(await tcpRoundTrip(port, 'x')).toBe('pong:x from 127.0.0.1');
    f.close();
    await expect(tcpRoundTrip(port, 'y')).rejects.toThrow(/ECONNREFUSED/);
  });
});
