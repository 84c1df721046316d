import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError } from '@lodge/common';
import { validateListenAddress } from './server-config.keys';

/** LXD's default HTTPS port. */
export const DEFAULT_HTTPS_PORT = 8443;

/** Where to bind for a `core.https_address` value. */
export interface ListenTarget {
  /** '' = every address (dual stack), '::' = every address (dual stack), '0.0.0.0' = every IPv4 address; else an IP or a name. */
  host: string;
  port: number;
}

/**
 * Parses a listen address as LXD reads core.https_address: `host`, `host:port`, `:port`, `[v6]`,
 * `[v6]:port` or a bare IPv6; a missing port is 8443. Throws InvalidArgumentError (400).
 */
export function parseListenAddress(value: string): ListenTarget {
  const reason = validateListenAddress(value);
  if (reason || value === '') throw new InvalidArgumentError(reason ?? 'Empty listen address');
  if (isIP(value) === 6) return { host: value, port: DEFAULT_HTTPS_PORT };
  const bracket = /^\[([^\]]*)\](?::(\d+))?$/.exec(value);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : DEFAULT_HTTPS_PORT };
  const i = value.lastIndexOf(':');
  if (i < 0) return { host: value, port: DEFAULT_HTTPS_PORT };
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

export function isWildcardHost(host: string): boolean {
  return host === '' || host === '::' || host === '0.0.0.0';
}

/** `ip:port`, with brackets for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The addresses a listener bound to `target` is reachable on (GET /1.0 environment.addresses and the
 * token's addresses). A wildcard bind lists the host's global addresses first (Juju looks for its
 * bridge address there), then loopback; IPv6 only when the socket is IPv6 (dual stack). A specific
 * bind lists itself.
 */
export function listenAddresses(target: ListenTarget, boundFamily: 'IPv4' | 'IPv6', port: number): string[] {
  if (!isWildcardHost(target.host)) return [formatHostPort(target.host, port)];
  const withV6 = target.host !== '0.0.0.0' && boundFamily === 'IPv6';
  const global: string[] = [];
  const loopback: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const v6 = a.family === 'IPv6';
      if (v6 && !withV6) continue;
      if (isLinkLocal(a.address)) continue;
      (a.internal ? loopback : global).push(formatHostPort(a.address.replace(/%.*$/, ''), port));
    }
  }
  return [...new Set([...global, ...loopback])];
}

function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address) || address.startsWith('169.254.');
}
