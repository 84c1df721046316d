/**
 * One proxy device at work: a listener on the host ("listen") whose connections (TCP) or
 * datagrams (UDP) are forwarded to an address inside the instance's network namespace
 * ("connect"), e.g. a host port to a service on the container's own loopback. It runs inside the
 * daemon; the daemon starts it again for running instances when it starts.
 */
import { createSocket, RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, Server, Socket } from 'node:net';
import { InvalidArgumentError } from '@lodge/common';
import { parseProxyAddress } from '@lodge/config';
import { NetworkNamespaceRef } from './netns-socket';

/** A UDP client the forwarder has not heard from for this long loses its inner socket. */
const UDP_IDLE_MS = 60_000;

export interface ProxyEndpoints {
  listen: string;
  connect: string;
}

type Address = ReturnType<typeof parseProxyAddress>;

const hostOf = (a: Address): string => (a.host === 'localhost' ? '127.0.0.1' : a.host);
const familyOf = (a: Address): 4 | 6 => (isIPv6(hostOf(a)) ? 6 : 4);

/** Something that ends with the forwarder: a forwarded connection or UDP flow. */
interface Link {
  end(): void;
}

export class ProxyForwarder {
  private readonly links = new Set<Link>();
  private listener?: Server | UdpSocket;
  private closed = false;

  private constructor(
    private readonly netns: NetworkNamespaceRef,
    private readonly listen: Address,
    private readonly connect: Address,
  ) {}

  /** Starts listening. The namespace reference becomes the forwarder's (closed by close(), or at once on failure). */
  static async start(endpoints: ProxyEndpoints, netns: NetworkNamespaceRef): Promise<ProxyForwarder> {
    try {
      const listen = parseProxyAddress(endpoints.listen);
      const connect = parseProxyAddress(endpoints.connect);
      if (listen.protocol !== connect.protocol) throw new InvalidArgumentError('"listen" and "connect" must use the same protocol');
      const f = new ProxyForwarder(netns, listen, connect);
      await (listen.protocol === 'tcp' ? f.listenTcp() : f.listenUdp());
      return f;
    } catch (err) {
      netns.close();
      throw err;
    }
  }

  /** Stops listening and ends every forwarded connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener?.close();
    for (const link of [...this.links]) link.end();
    this.netns.close();
  }

  private listenError(err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EADDRNOTAVAIL' ? 'no host interface has this address' : String(code ?? err);
    return new InvalidArgumentError(`Cannot listen on ${this.listen.protocol}:${this.listen.host}:${this.listen.port}: ${why}`, { cause: err });
  }

  private async listenTcp(): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (client) => this.forwardTcp(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(this.listenError(err)));
      server.listen({ host: hostOf(this.listen), port: this.listen.port }, () => resolve());
    });
    server.on('error', () => undefined);
    this.listener = server;
  }

  private forwardTcp(client: Socket): void {
    let inner: Socket;
    try {
      inner = new Socket({ fd: this.netns.socket(familyOf(this.connect), 'tcp'), readable: true, writable: true });
    } catch {
      client.destroy();
      return;
    }
    const link: Link = {
      end: () => {
        this.links.delete(link);
        client.destroy();
        inner.destroy();
      },
    };
    this.links.add(link);
    client.on('error', link.end).on('close', link.end);
    inner.on('error', link.end).on('close', link.end);
    inner.connect(this.connect.port, hostOf(this.connect), () => {
      client.pipe(inner);
      inner.pipe(client);
      client.resume();
    });
  }

  private async listenUdp(): Promise<void> {
    const outer = createSocket(familyOf(this.listen) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      outer.once('error', (err) => reject(this.listenError(err)));
      outer.bind({ address: hostOf(this.listen), port: this.listen.port }, () => resolve());
    });
    outer.on('error', () => undefined);
    this.listener = outer;
    // one inner socket per client address, so that replies find their way back
    const flows = new Map<string, (msg: Buffer) => void>();
    outer.on('message', (msg: Buffer, from: RemoteInfo) => {
      const key = `${from.address}:${from.port}`;
      let send = flows.get(key);
      if (!send) {
        send = this.openUdpFlow(outer, from, () => flows.delete(key));
        if (!send) return;
        flows.set(key, send);
      }
      send(msg);
    });
  }

  /** A flow for one client: datagrams to the inner address, replies back to the client. */
  private openUdpFlow(outer: UdpSocket, from: RemoteInfo, onEnd: () => void): ((msg: Buffer) => void) | undefined {
    let fd: number;
    try {
      fd = this.netns.socket(familyOf(this.connect), 'udp');
    } catch {
      return undefined;
    }
    const inner = createSocket(familyOf(this.connect) === 6 ? 'udp6' : 'udp4');
    let connected = false;
    const waiting: Buffer[] = [];
    const idle = setTimeout(() => link.end(), UDP_IDLE_MS);
    const link: Link = {
      end: () => {
        clearTimeout(idle);
        this.links.delete(link);
        onEnd();
        inner.close();
      },
    };
    this.links.add(link);
    inner.on('error', () => undefined);
    inner.on('message', (reply: Buffer) => outer.send(reply, from.port, from.address));
    inner.bind({ fd }, () =>
      inner.connect(this.connect.port, hostOf(this.connect), () => {
        connected = true;
        for (const m of waiting.splice(0)) inner.send(m);
      }),
    );
    return (msg) => {
      idle.refresh();
      if (connected) inner.send(msg);
      else waiting.push(msg);
    };
  }
}
