/**
 * HostLinks on rtnetlink: each operation is one or two requests sent by the addon from a
 * threadpool thread (no `ip` processes), so a NIC costs a fraction of a millisecond at launch.
 * Kernel refusals become typed errors: a missing link is a NotFoundError, a taken name an
 * AlreadyExistsError, a bad name or MAC an InvalidArgumentError, anything else a SystemError.
 */
import { AlreadyExistsError, DomainError, InvalidArgumentError, NotFoundError, SystemError } from '@lodge/common';
import { broadcastAddress, formatIp, parseIp } from '../ipam';
import { HostAddress, HostLink, HostLinks, MacvlanIntoNamespace, VethIntoNamespace } from '../networks/host-links';
import {
  addressRequest,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  getLinkRequest,
  newBridgeRequest,
  newMacvlanRequest,
  newVethRequest,
  setLinkRequest,
} from './link-requests';
import { AF, DecodedLink, IFF, NLM_F, RTM, decodeAddress, decodeHeader, decodeLink, parseMac } from './rtnetlink-codec';

interface NetlinkAddon {
  netlinkRequest(netnsFd: number, request: Buffer): Promise<Buffer[]>;
}

/** What the addon's rejections carry. */
interface NetlinkFailure extends Error {
  errno?: number;
  code?: string;
  kernelMessage?: string;
}

let addon: NetlinkAddon | undefined;
function native(): NetlinkAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require('@lodge/native') as NetlinkAddon;
  return addon;
}

/** The daemon's own network namespace, for the addon. */
const HOST_NETNS = -1;
/** A dump that saw the table change under it is redone; past this many tries something churns without end. */
const DUMP_TRIES = 5;
const IFNAMSIZ = 16;

/** Whether err says "no such link" (or address): what a caller deleting something already gone may ignore. */
export function isNotFound(err: unknown): boolean {
  return err instanceof DomainError && err.kind === 'not-found';
}

/**
 * A kernel interface name: 1 to 15 bytes, none of "/", ":" or white space, not "." or "..".
 * The kernel would refuse these too, but with EINVAL and no word on which name.
 */
export function validateIfname(name: string, what = 'network interface name'): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes >= IFNAMSIZ) {
    throw new InvalidArgumentError(`Invalid ${what} "${name}": must be 1 to ${IFNAMSIZ - 1} bytes long`);
  }
  if (/[\s/:]/.test(name) || name === '.' || name === '..' || name.includes('\0')) {
    throw new InvalidArgumentError(`Invalid ${what} "${name}": must not contain "/", ":" or white space`);
  }
}

function mac(text: string | undefined): Buffer | undefined {
  if (text === undefined) return undefined;
  const b = parseMac(text);
  if (!b) throw new InvalidArgumentError(`Invalid MAC address "${text}"`);
  return b;
}

/** A new NIC's names, MTU and MAC checked before anything is sent; the MAC as bytes. */
function nicSpec(names: string[], mtu: number | undefined, hwaddr: string | undefined): Buffer | undefined {
  for (const n of names) validateIfname(n);
  validateMtu(mtu);
  return mac(hwaddr);
}

function validateMtu(mtu: number | undefined): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw new InvalidArgumentError(`Invalid MTU ${mtu}: must be an integer in 68..65535`);
  }
}

function ipBytes(value: bigint, family: 4 | 6): Buffer {
  const b = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = b.length - 1; i >= 0; i--, value >>= 8n) b[i] = Number(value & 0xffn);
  return b;
}

function parseCidr(cidr: string): { family: 4 | 6; value: bigint; prefix: number } {
  const slash = cidr.indexOf('/');
  const ip = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const bits = ip.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : cidr.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > bits) throw new InvalidArgumentError(`Invalid address "${cidr}": bad prefix length`);
  return { family: ip.family, value: ip.value, prefix };
}

const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

/** How one request's refusal reads to the caller. `subject` names what ENODEV / EEXIST are about. */
interface Subject {
  step: string;
  missing?: string;
  existing?: string;
}

export class NetlinkLinks implements HostLinks {
  constructor(private readonly send: (netnsFd: number, request: Buffer) => Promise<Buffer[]> = (fd, r) => native().netlinkRequest(fd, r)) {}

  async createBridge(name: string, o: { mtu?: number; hwaddr?: string } = {}): Promise<void> {
    const hwaddr = nicSpec([name], o.mtu, o.hwaddr);
    await this.request(HOST_NETNS, newBridgeRequest({ name, hwaddr }), { step: `create bridge ${name}`, existing: `network interface ${name}` });
    if (o.mtu === undefined) return;
    try {
      await this.setMtu(name, o.mtu);
    } catch (err) {
      // no half-made bridge: the one just made goes again
      await this.deleteLink(name).catch(() => undefined);
      throw err;
    }
  }

  async deleteLink(name: string): Promise<void> {
    await this.deleteLinkInNamespace(HOST_NETNS, name);
  }

  async deleteLinkInNamespace(netnsFd: number, name: string): Promise<void> {
    validateIfname(name);
    await this.request(netnsFd, deleteLinkRequest(name), { step: `delete ${name}`, missing: `network interface ${name}` });
  }

  async setUp(name: string): Promise<void> {
    validateIfname(name);
    await this.request(HOST_NETNS, setLinkRequest(name, { up: true }), { step: `set ${name} up`, missing: `network interface ${name}` });
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    validateIfname(name);
    validateMtu(mtu);
    await this.request(HOST_NETNS, setLinkRequest(name, { mtu }), { step: `set the MTU of ${name}`, missing: `network interface ${name}` });
  }

  async addAddress(name: string, cidr: string): Promise<void> {
    await this.changeAddress(name, cidr, false);
  }

  async delAddress(name: string, cidr: string): Promise<void> {
    await this.changeAddress(name, cidr, true);
  }

  async listAddresses(name?: string, netnsFd = HOST_NETNS): Promise<HostAddress[]> {
    if (name !== undefined) validateIfname(name);
    const [links, dump] = await Promise.all([
      name === undefined ? this.dumpLinks(netnsFd) : this.getLink(name, netnsFd).then((l) => [l]),
      this.dump(netnsFd, dumpAddressesRequest, 'list addresses'),
    ]);
    const names = new Map(links.map((l) => [l.index, l.name]));
    const out: HostAddress[] = [];
    for (const msg of dump) {
      const a = decodeAddress(msg);
      const ifname = names.get(a.index);
      if (ifname === undefined || (a.family !== AF.INET && a.family !== AF.INET6)) continue;
      const family = a.family === AF.INET ? 4 : 6;
      if (a.address.length !== (family === 4 ? 4 : 16)) continue;
      const value = BigInt(`0x${a.address.toString('hex')}`);
      out.push({ ifname, family, address: formatIp({ family, value }), prefix: a.prefixlen, scope: SCOPES[a.scope] ?? String(a.scope) });
    }
    return out;
  }

  async listLinks(netnsFd = HOST_NETNS): Promise<HostLink[]> {
    const links = await this.dumpLinks(netnsFd);
    const names = new Map(links.map((l) => [l.index, l.name]));
    return links.map((l) => {
      const link: HostLink = {
        name: l.name,
        index: l.index,
        kind: l.kind ?? (l.flags & IFF.LOOPBACK ? 'loopback' : 'physical'),
        mtu: l.mtu ?? 0,
        hwaddr: l.hwaddr ?? '',
        up: (l.flags & IFF.UP) !== 0,
        stats: l.stats ?? { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 },
      };
      const master = l.master !== undefined ? names.get(l.master) : undefined;
      if (master !== undefined) link.master = master;
      return link;
    });
  }

  async createVethIntoNamespace(o: VethIntoNamespace): Promise<void> {
    const peerHwaddr = nicSpec([o.hostName, o.peerName], o.mtu, o.hwaddr);
    // The bridge is looked up first: a missing bridge then makes nothing at all.
    const master = o.bridge === undefined ? undefined : (await this.getLink(o.bridge, HOST_NETNS)).index;
    await this.request(HOST_NETNS, newVethRequest({ hostName: o.hostName, peerName: o.peerName, peerNetnsFd: o.peerNetnsFd, master, mtu: o.mtu, peerHwaddr }), {
      step: `create veth ${o.hostName}`,
      // the bridge went between the lookup and the request
      missing: o.bridge === undefined ? undefined : `network interface ${o.bridge}`,
      existing: `network interface ${o.hostName} (or ${o.peerName} in the namespace)`,
    });
    // the peer comes up in its namespace (see newVethRequest for why not in the same request)
    try {
      await this.request(o.peerNetnsFd, setLinkRequest(o.peerName, { up: true }), { step: `set ${o.peerName} up in the namespace` });
    } catch (err) {
      // no half-made NIC: deleting the host end deletes the peer with it
      await this.deleteLink(o.hostName).catch(() => undefined);
      throw err;
    }
  }

  async createMacvlanIntoNamespace(o: MacvlanIntoNamespace): Promise<void> {
    const hwaddr = nicSpec([o.parent, o.peerName], o.mtu, o.hwaddr);
    const parent = (await this.getLink(o.parent, HOST_NETNS)).index;
    await this.request(HOST_NETNS, newMacvlanRequest({ name: o.peerName, parent, netnsFd: o.netnsFd, mtu: o.mtu, hwaddr }), {
      step: `create macvlan ${o.peerName} on ${o.parent}`,
      missing: `network interface ${o.parent}`,
      existing: `network interface ${o.peerName} (in the namespace)`,
    });
  }

  // ---- helpers ----

  private async changeAddress(name: string, cidr: string, remove: boolean): Promise<void> {
    validateIfname(name);
    const { family, value, prefix } = parseCidr(cidr);
    const index = (await this.getLink(name, HOST_NETNS)).index;
    const broadcast = family === 4 && prefix < 31 ? ipBytes(broadcastAddress({ family, network: value, prefix }), 4) : undefined;
    const text = `${formatIp({ family, value })}/${prefix}`;
    try {
      await this.request(HOST_NETNS, addressRequest({ index, family, prefix, address: ipBytes(value, family), broadcast }, remove), {
        step: `${remove ? 'remove' : 'add'} address ${text} ${remove ? 'from' : 'to'} ${name}`,
        missing: `network interface ${name}`,
        existing: `address ${text} on ${name}`,
      });
    } catch (err) {
      if (remove && (err as SystemError).errno === 'EADDRNOTAVAIL') throw new NotFoundError(`address ${text} not found on ${name}`, { cause: err });
      throw err;
    }
  }

  /** One link by name. */
  private async getLink(name: string, netnsFd: number): Promise<DecodedLink> {
    const replies = await this.request(netnsFd, getLinkRequest(name), { step: `look up ${name}`, missing: `network interface ${name}` });
    const msg = replies.find((m) => decodeHeader(m).type === RTM.NEWLINK);
    if (!msg) throw new SystemError(`look up ${name}`, 'EPROTO', 'the kernel answered without the link');
    return decodeLink(msg);
  }

  private async dumpLinks(netnsFd: number): Promise<DecodedLink[]> {
    return (await this.dump(netnsFd, dumpLinksRequest, 'list links')).map(decodeLink);
  }

  /** A whole dump, redone when the kernel marks it inconsistent (the table changed meanwhile). */
  private async dump(netnsFd: number, request: () => Buffer, step: string): Promise<Buffer[]> {
    for (let i = 0; ; i++) {
      const msgs = await this.request(netnsFd, request(), { step });
      if (!msgs.some((m) => decodeHeader(m).flags & NLM_F.DUMP_INTR)) return msgs;
      if (i + 1 >= DUMP_TRIES) throw new SystemError(step, 'EAGAIN', `the table kept changing during ${DUMP_TRIES} dumps`);
    }
  }

  private async request(netnsFd: number, request: Buffer, s: Subject): Promise<Buffer[]> {
    try {
      return await this.send(netnsFd, request);
    } catch (err) {
      throw translate(err as NetlinkFailure, s);
    }
  }
}

function translate(err: NetlinkFailure, s: Subject): Error {
  if (err.errno === undefined) return err; // not a kernel answer (a TypeError of the addon): a bug, as it is
  if ((err.code === 'ENODEV' || err.code === 'ENOENT') && s.missing) return new NotFoundError(`${s.missing} not found`, { cause: err });
  if (err.code === 'EEXIST' && s.existing) return new AlreadyExistsError(`${s.existing} already exists`, { cause: err });
  return new SystemError(s.step, err.code ?? `E${err.errno}`, err.kernelMessage ?? err.message, { cause: err });
}
