import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressRequest, deleteLinkRequest, dumpLinksRequest, getLinkRequest, newBridgeRequest, newMacvlanRequest, newVethRequest, setLinkRequest } from './link-requests';
import { decodeAddress, decodeAttrs, decodeLink, formatMac, parseMac, rtaNest, rtaString, rtaU32 } from './rtnetlink-codec';

/** Hex with spaces and comments allowed, for layouts written out field by field. */
const hex = (...parts: string[]) => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');

const captured = JSON.parse(readFileSync(join(__dirname, 'testdata', 'rtnetlink-replies.json'), 'utf8')) as {
  lo: string;
  d0: string;
  addresses: string[];
};

describe('rtnetlink encoding', () => {
  it('pads attributes to 4 bytes without counting the padding in their length', () => {
    expect(rtaString(3, 'eth0')).toEqual(hex('0900 0300', '65746830 00', '000000'));
    expect(rtaU32(4, 1500)).toEqual(hex('0800 0400', 'dc050000'));
    // a nest's length covers its children, their padding included
    expect(rtaNest(18, rtaString(1, 'veth'))).toEqual(hex('1000 1200', '0900 0100 76657468 00 000000'));
  });

  it('a lookup by name: GETLINK with ACK, IFLA_IFNAME and the skip-stats mask', () => {
    expect(getLinkRequest('lo')).toEqual(
      hex(
        '30000000 1200 0500 01000000 00000000', // nlmsghdr: len 48, RTM_GETLINK, REQUEST|ACK, seq 1, pid 0
        '00 00 0000 00000000 00000000 00000000', // ifinfomsg: all zero
        '0700 0300 6c6f00 00', // IFLA_IFNAME "lo"
        '0800 1d00 08000000', // IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
      ),
    );
  });

  it('a dump of links', () => {
    expect(dumpLinksRequest()).toEqual(hex('20000000 1200 0103 01000000 00000000', '00'.repeat(16)));
  });

  it('a veth: host end up on its master, the peer named, addressed and sent into a namespace', () => {
    const req = newVethRequest({ hostName: 'vh0', peerName: 'eth0', peerNetnsFd: 7, master: 3, mtu: 1400, peerHwaddr: parseMac('00:16:3e:00:00:01') });
    expect(req).toEqual(
      hex(
        '88000000 1000 0506 01000000 00000000', // len 136, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        '00 00 0000 00000000 01000000 01000000', // ifinfomsg: IFF_UP in flags and change
        '0800 0300 76683000', // IFLA_IFNAME "vh0"
        '0800 0400 78050000', // IFLA_MTU 1400
        '0800 0a00 03000000', // IFLA_MASTER 3
        '5000 1200', // IFLA_LINKINFO (80)
        '  0900 0100 76657468 00 000000', //   IFLA_INFO_KIND "veth"
        '  4000 0200', //   IFLA_INFO_DATA (64)
        '    3c00 0100', //     VETH_INFO_PEER (60)
        '      00 00 0000 00000000 00000000 00000000', //       the peer's ifinfomsg: down (ENOTCONN otherwise)
        '      0900 0300 65746830 00 000000', //       IFLA_IFNAME "eth0"
        '      0a00 0100 00163e000001 0000', //       IFLA_ADDRESS
        '      0800 0400 78050000', //       IFLA_MTU 1400
        '      0800 1c00 07000000', //       IFLA_NET_NS_FD 7
      ),
    );
  });

  it('a macvlan in bridge mode on a parent, into a namespace', () => {
    expect(newMacvlanRequest({ name: 'eth1', parent: 9, netnsFd: 12 })).toEqual(
      hex(
        '58000000 1000 0506 01000000 00000000',
        '00 00 0000 00000000 01000000 01000000',
        '0900 0300 65746831 00 000000', // IFLA_IFNAME "eth1"
        '0800 0500 09000000', // IFLA_LINK 9
        '0800 1c00 0c000000', // IFLA_NET_NS_FD 12
        '1c00 1200', // IFLA_LINKINFO
        '  0c00 0100 6d6163766c616e 00', //   IFLA_INFO_KIND "macvlan"
        '  0c00 0200 0800 0100 04000000', //   IFLA_INFO_DATA { IFLA_MACVLAN_MODE bridge }
      ),
    );
  });

  it('a bridge, link changes and deletion by name', () => {
    expect(newBridgeRequest({ name: 'br0', hwaddr: parseMac('02:00:00:00:00:01') })).toEqual(
      hex(
        '44000000 1000 0506 01000000 00000000',
        '00'.repeat(16),
        '0800 0300 62723000',
        '0a00 0100 020000000001 0000',
        '1000 1200 0b00 0100 62726964676500 00', // LINKINFO { KIND "bridge" }
      ),
    );
    expect(setLinkRequest('br0', { up: true, mtu: 9000 })).toEqual(
      hex('30000000 1000 0500 01000000 00000000', '00 00 0000 00000000 01000000 01000000', '0800 0300 62723000', '0800 0400 28230000'),
    );
    expect(deleteLinkRequest('br0')).toEqual(hex('28000000 1100 0500 01000000 00000000', '00'.repeat(16), '0800 0300 62723000'));
  });

  it('addresses: IPv4 with its broadcast, removal without it', () => {
    const a = { index: 5, family: 4 as const, prefix: 24, address: hex('0a000001'), broadcast: hex('0a0000ff') };
    expect(addressRequest(a)).toEqual(
      hex(
        '30000000 1400 0506 01000000 00000000', // RTM_NEWADDR, create exclusively
        '02 18 00 00 05000000', // ifaddrmsg: AF_INET, /24, index 5
        '0800 0200 0a000001', // IFA_LOCAL
        '0800 0100 0a000001', // IFA_ADDRESS
        '0800 0400 0a0000ff', // IFA_BROADCAST
      ),
    );
    expect(addressRequest(a, true)).toEqual(hex('28000000 1500 0500 01000000 00000000', '02 18 00 00 05000000', '0800 0200 0a000001', '0800 0100 0a000001'));
  });

  it('MAC addresses both ways', () => {
    expect(parseMac('00:16:3E:aa:bb:cc')).toEqual(hex('00163eaabbcc'));
    expect(parseMac('00:16:3e:aa:bb')).toBeUndefined();
    expect(parseMac('00-16-3e-aa-bb-cc')).toBeUndefined();
    expect(formatMac(hex('00163eaabbcc'))).toBe('00:16:3e:aa:bb:cc');
  });
});

describe('rtnetlink decoding (replies captured from a real kernel)', () => {
  it('loopback: no link kind, IFF_LOOPBACK, 64-bit counters', () => {
    const lo = decodeLink(Buffer.from(captured.lo, 'base64'));
    expect(lo).toMatchObject({ index: 1, name: 'lo', mtu: 65536, hwaddr: '00:00:00:00:00:00' });
    expect(lo.kind).toBeUndefined();
    expect(lo.master).toBeUndefined();
    expect(lo.flags & 0x9).toBe(0x9); // UP | LOOPBACK
    expect(lo.stats).toEqual({ rxPackets: 4, txPackets: 4, rxBytes: 336, txBytes: 336, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 });
  });

  it('a bridge port: its own kind (not the port kind "bridge"), its master, MAC and MTU', () => {
    const d0 = decodeLink(Buffer.from(captured.d0, 'base64'));
    expect(d0).toMatchObject({ index: 4, name: 'd0', kind: 'veth', master: 2, mtu: 1400, hwaddr: '02:00:00:aa:bb:cc' });
    expect(d0.flags & 1).toBe(1);
  });

  it('an address dump of both families', () => {
    const got = captured.addresses.map((h) => decodeAddress(Buffer.from(h, 'hex'))).map((a) => ({ ...a, address: a.address.toString('hex') }));
    expect(got).toEqual([
      { family: 2, prefixlen: 8, scope: 254, index: 1, address: '7f000001', label: 'lo' },
      { family: 2, prefixlen: 24, scope: 0, index: 4, address: '0a090807', label: 'd0' },
      { family: 10, prefixlen: 128, scope: 254, index: 1, address: '00000000000000000000000000000001', label: undefined },
      { family: 10, prefixlen: 64, scope: 0, index: 4, address: 'fd000001000000000000000000000007', label: undefined },
    ]);
  });

  it('a truncated attribute ends the list without throwing', () => {
    const attrs = decodeAttrs(Buffer.concat([rtaU32(4, 1500), hex('2000 0300 6162')]));
    expect([...attrs.keys()]).toEqual([4]);
  });
});
