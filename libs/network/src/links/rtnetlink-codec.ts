/**
 * rtnetlink's wire format, both ways: netlink headers, ifinfomsg / ifaddrmsg and (nested)
 * attributes out; RTM_NEWLINK and RTM_NEWADDR replies in. Pure: bytes in, bytes or values out.
 * Netlink speaks the host's byte order; Lodge runs on little-endian hosts only (x86-64, arm64).
 * Constants are those of the kernel's uapi headers (linux/netlink.h, rtnetlink.h, if_link.h,
 * if_addr.h, veth.h).
 */
import { endianness } from 'node:os';

if (endianness() !== 'LE') throw new Error('rtnetlink codec: big-endian hosts are not supported');

export const NLMSG_HDRLEN = 16;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
const RTA_HDRLEN = 4;
/** attribute types carry two flag bits (nested, network byte order) above the type proper */
const NLA_TYPE_MASK = 0x3fff;

export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, NEWADDR: 20, DELADDR: 21, GETADDR: 22 } as const;

export const NLM_F = {
  REQUEST: 0x1,
  ACK: 0x4,
  /** set on dump replies when the dump saw the table change under it: the dump must be redone */
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  EXCL: 0x200,
  CREATE: 0x400,
} as const;

export const AF = { UNSPEC: 0, INET: 2, INET6: 10 } as const;
export const IFF = { UP: 0x1, LOOPBACK: 0x8 } as const;

export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
  STATS64: 23,
  NET_NS_FD: 28,
  EXT_MASK: 29,
} as const;
/** IFLA_EXT_MASK bit: leave the counters out of the reply */
export const RTEXT_FILTER_SKIP_STATS = 0x8;
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_BRIDGE = 4;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4 } as const;

const align4 = (n: number) => (n + 3) & ~3;

// ---- encoding ----

/** One attribute: header, payload and the padding to the next 4-byte boundary (not counted in its length). */
export function rta(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(align4(RTA_HDRLEN + payload.length));
  b.writeUInt16LE(RTA_HDRLEN + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, RTA_HDRLEN);
  return b;
}

export function rtaU32(type: number, value: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32LE(value >>> 0, 0);
  return rta(type, p);
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
export function rtaString(type: number, value: string): Buffer {
  return rta(type, Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]));
}

/** A nested attribute: its payload is the children (each already padded). */
export function rtaNest(type: number, ...children: Buffer[]): Buffer {
  return rta(type, Buffer.concat(children));
}

export interface IfInfo {
  family?: number;
  /** ARPHRD_*; 0 in requests */
  type?: number;
  index?: number;
  flags?: number;
  /** which of `flags` to apply */
  change?: number;
}

export function ifinfomsg(i: IfInfo = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(i.family ?? AF.UNSPEC, 0);
  b.writeUInt16LE(i.type ?? 0, 2);
  b.writeInt32LE(i.index ?? 0, 4);
  b.writeUInt32LE((i.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((i.change ?? 0) >>> 0, 12);
  return b;
}

export interface IfAddr {
  family: number;
  prefixlen: number;
  flags?: number;
  scope?: number;
  index: number;
}

export function ifaddrmsg(a: IfAddr): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(a.family, 0);
  b.writeUInt8(a.prefixlen, 1);
  b.writeUInt8(a.flags ?? 0, 2);
  b.writeUInt8(a.scope ?? 0, 3);
  b.writeUInt32LE(a.index, 4);
  return b;
}

/** A whole message: nlmsghdr (length filled in, port id 0 = "the kernel assigns") and body. */
export function nlmsg(type: number, flags: number, body: Buffer[], seq = 1): Buffer {
  const payload = Buffer.concat(body);
  const h = Buffer.alloc(NLMSG_HDRLEN);
  h.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(0, 12);
  return Buffer.concat([h, payload]);
}

/** "aa:bb:cc:dd:ee:ff" as 6 bytes; undefined when it is not a MAC address. */
export function parseMac(text: string): Buffer | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---- decoding ----

export interface NlHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
}

export function decodeHeader(msg: Buffer): NlHeader {
  if (msg.length < NLMSG_HDRLEN) throw new Error('netlink message shorter than its header');
  return { len: msg.readUInt32LE(0), type: msg.readUInt16LE(4), flags: msg.readUInt16LE(6), seq: msg.readUInt32LE(8) };
}

/** The attributes in buf[start, end) by type (the first of each type wins; flag bits masked off). */
export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = start;
  while (off + RTA_HDRLEN <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < RTA_HDRLEN || off + len > end) break; // a malformed tail: keep what was whole
    if (!out.has(type)) out.set(type, buf.subarray(off + RTA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** A NUL-terminated string payload. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** The attributes of a message of `type` whose fixed part (ifinfomsg, ifaddrmsg) is `fixedLen` long. */
function attrsAfter(msg: Buffer, type: number, fixedLen: number): Map<number, Buffer> {
  const h = decodeHeader(msg);
  if (h.type !== type) throw new Error(`expected rtnetlink message type ${type}, got ${h.type}`);
  if (msg.length < NLMSG_HDRLEN + fixedLen) throw new Error(`rtnetlink message type ${type} shorter than its fixed part`);
  return decodeAttrs(msg, NLMSG_HDRLEN + fixedLen, Math.min(h.len, msg.length));
}

const attrU32 = (b: Buffer | undefined) => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);

export interface LinkStats64 {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

export interface DecodedLink {
  index: number;
  name: string;
  flags: number;
  mtu?: number;
  hwaddr?: string;
  /** the index of the link this one is a port of */
  master?: number;
  /** IF_OPER_* (6 = up) */
  operstate?: number;
  /** IFLA_INFO_KIND: "bridge", "veth", "macvlan", … absent for physical and loopback links */
  kind?: string;
  stats?: LinkStats64;
}

/** An RTM_NEWLINK message (a reply to GETLINK or a line of a dump). */
export function decodeLink(msg: Buffer): DecodedLink {
  const attrs = attrsAfter(msg, RTM.NEWLINK, IFINFOMSG_LEN);
  const at = NLMSG_HDRLEN;
  const link: DecodedLink = {
    index: msg.readInt32LE(at + 4),
    flags: msg.readUInt32LE(at + 8),
    name: attrString(attrs.get(IFLA.IFNAME)) ?? '',
    mtu: attrU32(attrs.get(IFLA.MTU)),
    master: attrU32(attrs.get(IFLA.MASTER)),
    operstate: attrs.get(IFLA.OPERSTATE)?.readUInt8(0),
  };
  const hw = attrs.get(IFLA.ADDRESS);
  if (hw && hw.length > 0) link.hwaddr = formatMac(hw);
  const info = attrs.get(IFLA.LINKINFO);
  if (info) link.kind = attrString(decodeAttrs(info).get(IFLA_INFO.KIND));
  const s = attrs.get(IFLA.STATS64);
  if (s && s.length >= 64) {
    // struct rtnl_link_stats64 begins with eight __u64 in this order
    const u = (i: number) => Number(s.readBigUInt64LE(i * 8));
    link.stats = { rxPackets: u(0), txPackets: u(1), rxBytes: u(2), txBytes: u(3), rxErrors: u(4), txErrors: u(5), rxDropped: u(6), txDropped: u(7) };
  }
  return link;
}

export interface DecodedAddress {
  family: number;
  prefixlen: number;
  scope: number;
  index: number;
  /** the address bytes (4 or 16) */
  address: Buffer;
  label?: string;
}

/** An RTM_NEWADDR message. The local address is IFA_LOCAL where given (on point-to-point links IFA_ADDRESS is the peer's). */
export function decodeAddress(msg: Buffer): DecodedAddress {
  const attrs = attrsAfter(msg, RTM.NEWADDR, IFADDRMSG_LEN);
  const at = NLMSG_HDRLEN;
  return {
    family: msg.readUInt8(at),
    prefixlen: msg.readUInt8(at + 1),
    scope: msg.readUInt8(at + 3),
    index: msg.readUInt32LE(at + 4),
    address: attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS) ?? Buffer.alloc(0),
    label: attrString(attrs.get(IFA.LABEL)),
  };
}
