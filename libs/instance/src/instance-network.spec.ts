import { parseRoutes } from '@lodge/network';
import { ipv4Owner, parseIfInet6, parseLocalIpv4, parseNetDev } from './instance-network';

// Texts as a network namespace with lo up and eth0 at 192.0.2.2/24 shows them.
const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
`;
const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
const IF_INET6 = `00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
fd000000000000000000000000000002 04 40 00 82     eth0
`;
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2710488    6498    1    2    0     0          0         0  2710400    6497    3    4    0     0       0          0
  eth0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

describe('reading a network namespace from /proc', () => {
  it('finds the namespace\'s own IPv4 addresses once each', () => {
    expect(parseLocalIpv4(FIB_TRIE).sort()).toEqual(['127.0.0.1', '192.0.2.2']);
  });

  it('gives each IPv4 address its interface and prefix from the routing table', () => {
    const routes = parseRoutes(ROUTE);
    expect(ipv4Owner('192.0.2.2', routes)).toEqual({ iface: 'eth0', prefix: 24 });
    expect(ipv4Owner('127.0.0.1', routes)).toEqual({ iface: 'lo', prefix: 8 });
    expect(ipv4Owner('198.51.100.7', routes)).toBeUndefined(); // only the default route covers it
  });

  it('reads IPv6 addresses with prefix and scope, in compressed form', () => {
    const v6 = parseIfInet6(IF_INET6);
    expect(v6.get('lo')).toEqual([{ family: 'inet6', address: '::1', netmask: '128', scope: 'local' }]);
    expect(v6.get('eth0')).toEqual([
      { family: 'inet6', address: 'fe80::fc:ff:fe00:1', netmask: '64', scope: 'link' },
      { family: 'inet6', address: 'fd00::2', netmask: '64', scope: 'global' },
    ]);
  });

  it('reads counters per interface', () => {
    const dev = parseNetDev(NET_DEV);
    expect([...dev.keys()]).toEqual(['lo', 'eth0']);
    expect(dev.get('lo')).toEqual({
      bytes_received: 2710488,
      packets_received: 6498,
      errors_received: 1,
      packets_dropped_inbound: 2,
      bytes_sent: 2710400,
      packets_sent: 6497,
      errors_sent: 3,
      packets_dropped_outbound: 4,
    });
  });
});
