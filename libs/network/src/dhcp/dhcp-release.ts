/**
 * DHCPRELEASE for a lease dnsmasq holds, as dnsmasq's own `dhcp_release` tool sends it: a BOOTP
 * request from the client's address and MAC, with the server identifier, to the server's address
 * on the bridge, from a socket bound to the bridge (so dnsmasq takes it as coming from that
 * network). Sent from the daemon itself: spawning `dhcp_release` forks the daemon, which blocks
 * its event loop for milliseconds per lease.
 */
import { randomBytes } from 'node:crypto';
import { normalizeMac } from './dhcp-hosts';
import { formatIp, parseIp } from '../ipam';

const BOOTREQUEST = 1;
const HTYPE_ETHERNET = 1;
const MAGIC_COOKIE = [99, 130, 83, 99];
const OPTION_MESSAGE_TYPE = 53;
const OPTION_SERVER_ID = 54;
const OPTION_END = 255;
const DHCPRELEASE = 7;
export const DHCP_SERVER_PORT = 67;

function ipv4Bytes(text: string): number[] {
  const v = parseIp(text, 4).value;
  return [Number((v >> 24n) & 0xffn), Number((v >> 16n) & 0xffn), Number((v >> 8n) & 0xffn), Number(v & 0xffn)];
}

/** The DHCPRELEASE packet (RFC 2131): op, htype, hlen, xid, ciaddr, chaddr, cookie, options 53 and 54. */
export function dhcpReleasePacket(o: { clientAddress: string; hwaddr: string; serverAddress: string; xid?: number }): Buffer {
  const p = Buffer.alloc(240 + 3 + 6 + 1);
  p[0] = BOOTREQUEST;
  p[1] = HTYPE_ETHERNET;
  p[2] = 6; // hlen
  p.writeUInt32BE(o.xid ?? randomBytes(4).readUInt32BE(0), 4);
  Buffer.from(ipv4Bytes(o.clientAddress)).copy(p, 12); // ciaddr
  Buffer.from(normalizeMac(o.hwaddr).split(':').map((h) => parseInt(h, 16))).copy(p, 28); // chaddr
  Buffer.from(MAGIC_COOKIE).copy(p, 236);
  Buffer.from([OPTION_MESSAGE_TYPE, 1, DHCPRELEASE, OPTION_SERVER_ID, 4, ...ipv4Bytes(o.serverAddress), OPTION_END]).copy(p, 240);
  return p;
}

interface UdpOnDeviceAddon {
  udpSendOnDevice(ifname: string, ipv4: string, port: number, payload: Buffer): void;
}

let addon: UdpOnDeviceAddon | undefined;
function native(): UdpOnDeviceAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require('@lodge/native') as UdpOnDeviceAddon;
  return addon;
}

/** Has the bridge's dnsmasq (listening on `serverAddress`) drop the lease of `clientAddress` held by `hwaddr`. */
export function sendDhcpRelease(bridge: string, serverAddress: string, clientAddress: string, hwaddr: string): void {
  const packet = dhcpReleasePacket({ clientAddress, hwaddr, serverAddress });
  native().udpSendOnDevice(bridge, formatIp(parseIp(serverAddress, 4)), DHCP_SERVER_PORT, packet);
}
