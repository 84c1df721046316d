/**
 * What the network use cases need of the kernel's links and addresses (implemented on rtnetlink
 * by the links/ folder). An interface, so the use cases name what they rely on.
 */
export interface HostAddress {
  ifname: string;
  family: 4 | 6;
  address: string;
  prefix: number;
  /** "global", "link", "host" (LXD calls host-scoped addresses "local") */
  scope: string;
}

export interface HostLink {
  name: string;
  index: number;
  /** "bridge", "veth", "macvlan", "loopback", "physical", … */
  kind: string;
  mtu: number;
  hwaddr: string;
  up: boolean;
  /** the bridge this link is a port of */
  master?: string;
  stats: { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; rxErrors: number; txErrors: number; rxDropped: number; txDropped: number };
}

export interface VethIntoNamespace {
  /** host end, e.g. veth1a2b3c4d */
  hostName: string;
  /** name inside the namespace, e.g. eth0 */
  peerName: string;
  peerNetnsFd: number;
  /** the bridge the host end joins */
  bridge?: string;
  mtu?: number;
  /** MAC of the end inside the namespace */
  hwaddr?: string;
}

export interface MacvlanIntoNamespace {
  parent: string;
  peerName: string;
  netnsFd: number;
  mtu?: number;
  hwaddr?: string;
}

export interface HostLinks {
  createBridge(name: string, o?: { mtu?: number; hwaddr?: string }): Promise<void>;
  deleteLink(name: string): Promise<void>;
  setUp(name: string): Promise<void>;
  setMtu(name: string, mtu: number): Promise<void>;
  addAddress(name: string, cidr: string): Promise<void>;
  delAddress(name: string, cidr: string): Promise<void>;
  /** addresses of every link (or of one) in the host's namespace, or in netnsFd's */
  listAddresses(name?: string, netnsFd?: number): Promise<HostAddress[]>;
  listLinks(netnsFd?: number): Promise<HostLink[]>;
  createVethIntoNamespace(o: VethIntoNamespace): Promise<void>;
  createMacvlanIntoNamespace(o: MacvlanIntoNamespace): Promise<void>;
  deleteLinkInNamespace(netnsFd: number, name: string): Promise<void>;
}

export const HOST_LINKS = Symbol('HOST_LINKS');
