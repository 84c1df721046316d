import { InvalidArgumentError } from '@lodge/common';
import { dnsmasqArgs } from './dnsmasq-config';
import { parseDhcpHosts, renderDhcpHosts } from './dhcp-hosts';
import { parseLeases } from './leases';

describe('dnsmasq command line', () => {
  const base = { bridge: 'lodgebr0', dir: '/var/lib/lodge/networks/lodgebr0' };

  it('serves only the bridge, never forwards DNS, keeps its files in the network dir', () => {
    const a = dnsmasqArgs({ ...base, ipv4: { address: '10.0.3.1/24', ranges: '10.0.3.50-10.0.3.99' }, domain: 'lodge', mtu: 1450 });
    expect(a).toEqual(
      expect.arrayContaining([
        '--strict-order',
        '--bind-interfaces',
        '--except-interface=lo',
        '--interface=lodgebr0',
        '--listen-address=10.0.3.1',
        '--dhcp-authoritative',
        '--no-resolv',
        '--no-hosts',
        '--local=/lodge/',
        '--domain=lodge',
        '--conf-file=/dev/null',
        '--pid-file=/var/lib/lodge/networks/lodgebr0/dnsmasq.pid',
        '--dhcp-leasefile=/var/lib/lodge/networks/lodgebr0/leases',
        '--dhcp-hostsfile=/var/lib/lodge/networks/lodgebr0/dhcp-hosts',
        '--dhcp-range=10.0.3.50,10.0.3.99,255.255.255.0,1h',
        '--dhcp-range=10.0.3.0,static,255.255.255.0,1h',
        '--dhcp-option-force=26,1450',
        '--user=dnsmasq',
        '--group=nogroup',
      ]),
    );
    expect(a.some((x) => x.startsWith('--server') || x.startsWith('--resolv-file') || x === '--keep-in-foreground')).toBe(false);
  });

  it('without ranges the whole subnet but the gateway is the pool', () => {
    const a = dnsmasqArgs({ ...base, ipv4: { address: '10.0.3.1/24', leaseTime: '30m' } });
    expect(a.filter((x) => x.startsWith('--dhcp-range'))).toEqual([
      '--dhcp-range=10.0.3.2,10.0.3.254,255.255.255.0,30m',
      '--dhcp-range=10.0.3.0,static,255.255.255.0,30m',
    ]);
  });

  it('IPv6: SLAAC by router advertisements, or stateful ranges', () => {
    const slaac = dnsmasqArgs({ ...base, ipv6: { address: 'fd42:1::1/64' } });
    expect(slaac).toEqual(expect.arrayContaining(['--listen-address=fd42:1::1', '--enable-ra', '--dhcp-range=::,constructor:lodgebr0,ra-stateless,ra-names,64,1h']));
    const stateful = dnsmasqArgs({ ...base, ipv6: { address: 'fd42:1::1/64', stateful: true, ranges: 'fd42:1::100-fd42:1::1ff' } });
    expect(stateful).toContain('--dhcp-range=fd42:1::100,fd42:1::1ff,64,1h');
    // without ranges, as LXD: the whole subnet, the bridge's own address left out
    expect(dnsmasqArgs({ ...base, ipv6: { address: 'fd42:1::1/64', stateful: true } })).toContain(
      '--dhcp-range=fd42:1::2,fd42:1::ffff:ffff:ffff:ffff,64,1h',
    );
  });

  it('refuses values that could carry other options', () => {
    for (const bad of [
      { ...base, bridge: 'br0 --server=1.1.1.1', ipv4: { address: '10.0.3.1/24' } },
      { ...base, ipv4: { address: '10.0.3.1/24' }, domain: 'x/,--server=8.8.8.8' },
      { ...base, ipv4: { address: '10.0.3.1/24', leaseTime: '1h,foo' } },
      { ...base, ipv4: { address: '10.0.3.0/24' } },
      { ...base },
    ]) {
      expect(() => dnsmasqArgs(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('dhcp hosts file and leases', () => {
  it('renders sorted reservations and reads them back', () => {
    const text = renderDhcpHosts([
      { hwaddr: '00:16:3E:00:00:02', ipv4: '10.0.3.20', hostname: 'c2' },
      { hwaddr: '00:16:3e:00:00:01', ipv4: '10.0.3.10' },
    ]);
    expect(text).toBe('00:16:3e:00:00:01,10.0.3.10\n00:16:3e:00:00:02,10.0.3.20,c2\n');
    expect(parseDhcpHosts(text)).toEqual([
      { hwaddr: '00:16:3e:00:00:01', ipv4: '10.0.3.10' },
      { hwaddr: '00:16:3e:00:00:02', ipv4: '10.0.3.20', hostname: 'c2' },
    ]);
    expect(renderDhcpHosts([])).toBe('');
    expect(() => renderDhcpHosts([{ hwaddr: '00:16:3e:00:00:01\nx', ipv4: '10.0.3.10' }])).toThrow(InvalidArgumentError);
    expect(() => renderDhcpHosts([{ hwaddr: '00:16:3e:00:00:01', hostname: 'a,b' }])).toThrow(InvalidArgumentError);
    expect(() => renderDhcpHosts([{ hwaddr: '00:16:3e:00:00:01', ipv4: 'fd42::1' }])).toThrow(InvalidArgumentError);
  });

  it('parses IPv4 and IPv6 leases, infinite ones and anonymous clients', () => {
    const leases = parseLeases(
      [
        '1764000000 00:16:3e:aa:bb:cc 10.0.3.5 c1 01:00:16:3e:aa:bb:cc',
        '0 00:16:3e:aa:bb:dd 10.0.3.6 * *',
        'duid 00:01:00:01:2c:00:00:00:00:16:3e:11:22:33',
        '1764000100 12345 fd42:1::5 c1 00:03:00:01:00:16:3e:aa:bb:cc',
        '',
      ].join('\n'),
    );
    expect(leases).toEqual([
      { family: 4, hwaddr: '00:16:3e:aa:bb:cc', address: '10.0.3.5', hostname: 'c1', expiry: new Date(1764000000000) },
      { family: 4, hwaddr: '00:16:3e:aa:bb:dd', address: '10.0.3.6', hostname: null, expiry: null },
      { family: 6, hwaddr: '00:16:3e:aa:bb:cc', address: 'fd42:1::5', hostname: 'c1', expiry: new Date(1764000100000) },
    ]);
  });
});
