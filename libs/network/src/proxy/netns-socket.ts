/**
 * Sockets that live in another network namespace (a container's), made by the addon: the JS
 * thread steps into the namespace for the socket() call only. Node then connects or binds them.
 */
import { closeSync, openSync } from 'node:fs';
import { SystemError } from '@lodge/common';

interface NetnsSocketAddon {
  socketInNetworkNamespace(netnsFd: number, family: 4 | 6, protocol: 'tcp' | 'udp'): number;
}

let addon: NetnsSocketAddon | undefined;
function native(): NetnsSocketAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require('@lodge/native') as NetnsSocketAddon;
  return addon;
}

/** A held reference to a process's network namespace: valid as long as it is open, even after the process ends. */
export class NetworkNamespaceRef {
  private fd: number | undefined;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** The network namespace of a running process (a container's init). */
  static ofProcess(pid: number): NetworkNamespaceRef {
    try {
      return new NetworkNamespaceRef(openSync(`/proc/${pid}/ns/net`, 'r'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new SystemError('open network namespace', code, `pid ${pid}`, { cause: err });
    }
  }

  /** A new non-blocking socket of that namespace; the caller owns the fd. */
  socket(family: 4 | 6, protocol: 'tcp' | 'udp'): number {
    if (this.fd === undefined) throw new SystemError('socket in network namespace', 'EBADF', 'the namespace reference is closed');
    return native().socketInNetworkNamespace(this.fd, family, protocol);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
