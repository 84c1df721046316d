/**
 * The rtnetlink requests Lodge sends, as whole messages. Pure (names, indexes and fds in, bytes
 * out), so each layout is checked byte for byte by the spec; the kernel sees exactly these.
 * Every non-dump asks for an ACK: the addon reads until it, so success is confirmed, not assumed.
 */
import {
  AF,
  IFA,
  IFF,
  IFLA,
  IFLA_INFO,
  IFLA_MACVLAN_MODE,
  MACVLAN_MODE_BRIDGE,
  NLM_F,
  RTEXT_FILTER_SKIP_STATS,
  RTM,
  VETH_INFO_PEER,
  ifaddrmsg,
  ifinfomsg,
  nlmsg,
  rta,
  rtaNest,
  rtaString,
  rtaU32,
} from './rtnetlink-codec';

const ACKED = NLM_F.REQUEST | NLM_F.ACK;
/** create, and fail with EEXIST rather than change a link that is already there */
const CREATE = ACKED | NLM_F.CREATE | NLM_F.EXCL;
const UP = { flags: IFF.UP, change: IFF.UP };

const optional = (b: Buffer | false | undefined): Buffer[] => (b ? [b] : []);

/** One link by name (the kernel looks it up; no dump), without its counters: a lookup wants the index. */
export function getLinkRequest(name: string): Buffer {
  return nlmsg(RTM.GETLINK, ACKED, [ifinfomsg(), rtaString(IFLA.IFNAME, name), rtaU32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS)]);
}

export function dumpLinksRequest(): Buffer {
  return nlmsg(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, [ifinfomsg()]);
}

/** Addresses of both families. */
export function dumpAddressesRequest(): Buffer {
  return nlmsg(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, [ifaddrmsg({ family: AF.UNSPEC, prefixlen: 0, index: 0 })]);
}

export interface NewBridge {
  name: string;
  hwaddr?: Buffer;
}

/** A bridge, down. (Its MTU is set afterwards: only a change of MTU tells the bridge to keep it when ports join.) */
export function newBridgeRequest(o: NewBridge): Buffer {
  return nlmsg(RTM.NEWLINK, CREATE, [
    ifinfomsg(),
    rtaString(IFLA.IFNAME, o.name),
    ...optional(o.hwaddr && rta(IFLA.ADDRESS, o.hwaddr)),
    rtaNest(IFLA.LINKINFO, rtaString(IFLA_INFO.KIND, 'bridge')),
  ]);
}

/** Changes to an existing link found by name: up, and/or a new MTU. */
export function setLinkRequest(name: string, o: { up?: boolean; mtu?: number }): Buffer {
  return nlmsg(RTM.NEWLINK, ACKED, [
    ifinfomsg(o.up ? UP : {}),
    rtaString(IFLA.IFNAME, name),
    ...optional(o.mtu !== undefined && rtaU32(IFLA.MTU, o.mtu)),
  ]);
}

export function deleteLinkRequest(name: string): Buffer {
  return nlmsg(RTM.DELLINK, ACKED, [ifinfomsg(), rtaString(IFLA.IFNAME, name)]);
}

export interface NewVeth {
  hostName: string;
  peerName: string;
  peerNetnsFd: number;
  /** index of the bridge the host end joins */
  master?: number;
  mtu?: number;
  peerHwaddr?: Buffer;
}

/**
 * Both ends of a veth in one request: the host end (named, on its bridge, up) in the sender's
 * namespace, the peer made directly in the namespace of peerNetnsFd, down. The peer cannot be
 * brought up here: the kernel applies the peer's ifinfomsg flags before the two ends are joined,
 * and opening an unjoined veth fails with ENOTCONN (tried on 6.18). setLinkRequest does it after.
 */
export function newVethRequest(o: NewVeth): Buffer {
  const mtu = optional(o.mtu !== undefined && rtaU32(IFLA.MTU, o.mtu));
  const peer = rta(
    VETH_INFO_PEER,
    Buffer.concat([
      ifinfomsg(),
      rtaString(IFLA.IFNAME, o.peerName),
      ...optional(o.peerHwaddr && rta(IFLA.ADDRESS, o.peerHwaddr)),
      ...mtu,
      rtaU32(IFLA.NET_NS_FD, o.peerNetnsFd),
    ]),
  );
  return nlmsg(RTM.NEWLINK, CREATE, [
    ifinfomsg(UP),
    rtaString(IFLA.IFNAME, o.hostName),
    ...mtu,
    ...optional(o.master !== undefined && rtaU32(IFLA.MASTER, o.master)),
    rtaNest(IFLA.LINKINFO, rtaString(IFLA_INFO.KIND, 'veth'), rtaNest(IFLA_INFO.DATA, peer)),
  ]);
}

export interface NewMacvlan {
  name: string;
  /** index of the parent link, in the sender's namespace */
  parent: number;
  netnsFd: number;
  mtu?: number;
  hwaddr?: Buffer;
}

/** A macvlan in bridge mode on `parent`, made directly in the namespace of netnsFd, up. */
export function newMacvlanRequest(o: NewMacvlan): Buffer {
  return nlmsg(RTM.NEWLINK, CREATE, [
    ifinfomsg(UP),
    rtaString(IFLA.IFNAME, o.name),
    rtaU32(IFLA.LINK, o.parent),
    ...optional(o.hwaddr && rta(IFLA.ADDRESS, o.hwaddr)),
    ...optional(o.mtu !== undefined && rtaU32(IFLA.MTU, o.mtu)),
    rtaU32(IFLA.NET_NS_FD, o.netnsFd),
    rtaNest(IFLA.LINKINFO, rtaString(IFLA_INFO.KIND, 'macvlan'), rtaNest(IFLA_INFO.DATA, rtaU32(IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE))),
  ]);
}

export interface AddressChange {
  index: number;
  family: 4 | 6;
  prefix: number;
  /** 4 or 16 bytes */
  address: Buffer;
  /** IPv4 only: the subnet's broadcast address */
  broadcast?: Buffer;
}

/** A new address (EEXIST when the link already has it) or, with `remove`, its removal. */
export function addressRequest(a: AddressChange, remove = false): Buffer {
  const family = a.family === 4 ? AF.INET : AF.INET6;
  return nlmsg(remove ? RTM.DELADDR : RTM.NEWADDR, remove ? ACKED : CREATE, [
    ifaddrmsg({ family, prefixlen: a.prefix, index: a.index }),
    rta(IFA.LOCAL, a.address),
    rta(IFA.ADDRESS, a.address),
    ...optional(!remove && a.broadcast && rta(IFA.BROADCAST, a.broadcast)),
  ]);
}
