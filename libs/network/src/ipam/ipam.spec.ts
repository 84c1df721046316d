import { InvalidArgumentError } from '@lodge/common';
import {
  canonicalIp,
  chooseAutoSubnet,
  dhcpPools,
  formatInterfaceCidr,
  formatRange,
  formatSubnet,
  ipv4Netmask,
  nextFreeAddress,
  parseDhcpRanges,
  parseInterfaceCidr,
  parseIp,
  parseSubnet,
  subnetsOverlap,
  tryParseIp,
  validateStaticAddress,
} from '.';

describe('addresses', () => {
  it('parses and formats IPv4 strictly', () => {
    expect(canonicalIp('10.0.3.1')).toBe('10.0.3.1');
    expect(parseIp('255.255.255.255').value).toBe(0xffffffffn);
    for (const bad of ['10.0.3', '10.0.3.256', '10.0.03.1', '10.0.3.1.', ' 10.0.3.1', 'a.b.c.d', '']) {
      expect(tryParseIp(bad)).toBeUndefined();
    }
    expect(() => parseIp('fd00::1', 4)).toThrow(InvalidArgumentError);
  });

  it('parses every IPv6 text form and formats canonically (RFC 5952)', () => {
    expect(canonicalIp('fd42:0:0:0:0:0:0:1')).toBe('fd42::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:DB8::0001')).toBe('2001:db8::1');
    expect(canonicalIp('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(canonicalIp('::ffff:10.0.3.1')).toBe('::ffff:a00:301');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fd42::g', '1.2.3.4::', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::']) {
      expect(tryParseIp(bad)).toBeUndefined();
    }
  });
});

describe('subnets', () => {
  it('an interface CIDR is the gateway plus its subnet', () => {
    const c = parseInterfaceCidr('10.0.3.1/24');
    expect(formatSubnet(c.subnet)).toBe('10.0.3.0/24');
    expect(formatInterfaceCidr(c)).toBe('10.0.3.1/24');
    expect(formatSubnet(parseInterfaceCidr('fd42:1:2:3::1/64').subnet)).toBe('fd42:1:2:3::/64');
    expect(ipv4Netmask(24)).toBe('255.255.255.0');
    expect(ipv4Netmask(20)).toBe('255.255.240.0');
  });

  it('refuses invalid CIDRs, network/broadcast addresses and tiny subnets', () => {
    for (const bad of ['10.0.3.1', '10.0.3.1/33', '10.0.3.1/', '10.0.3.1/024', '/24', 'auto', '10.0.3.0/24', '10.0.3.255/24', '10.0.3.1/31', 'fd42::1/127', 'fd42::/64']) {
      expect(() => parseInterfaceCidr(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseInterfaceCidr('fd42::1/64', 4)).toThrow(/IPv4/);
  });

  it('overlap: nested or equal blocks overlap, neighbours and other families do not', () => {
    const s = (t: string) => parseSubnet(t);
    expect(subnetsOverlap(s('10.0.0.0/8'), s('10.20.3.0/24'))).toBe(true);
    expect(subnetsOverlap(s('10.20.3.0/24'), s('10.20.3.128/25'))).toBe(true);
    expect(subnetsOverlap(s('10.20.3.0/24'), s('10.20.4.0/24'))).toBe(false);
    expect(subnetsOverlap(s('10.20.3.0/24'), s('fd42::/64'))).toBe(false);
    expect(subnetsOverlap(s('fd42::/48'), s('fd42:0:0:5::/64'))).toBe(true);
  });
});

describe('DHCP ranges and address choice', () => {
  const cidr = parseInterfaceCidr('10.0.3.1/24');

  it('parses ranges inside the subnet, sorted', () => {
    const r = parseDhcpRanges('10.0.3.200-10.0.3.210, 10.0.3.100-10.0.3.150', cidr);
    expect(r.map((x) => formatRange(x, 4))).toEqual([
      ['10.0.3.100', '10.0.3.150'],
      ['10.0.3.200', '10.0.3.210'],
    ]);
  });

  it('refuses ranges outside the subnet, reversed, overlapping or malformed', () => {
    for (const bad of ['10.0.4.2-10.0.4.9', '10.0.3.9-10.0.3.2', '10.0.3.2-10.0.3.20,10.0.3.10-10.0.3.30', '10.0.3.2', '10.0.3.0-10.0.3.9', '10.0.3.2-10.0.3.255', 'x-y', 'fd42::1-fd42::2']) {
      expect(() => parseDhcpRanges(bad, cidr)).toThrow(InvalidArgumentError);
    }
  });

  it('pools: the whole host range without the gateway, or the ranges split around it', () => {
    expect(dhcpPools(cidr).map((r) => formatRange(r, 4))).toEqual([['10.0.3.2', '10.0.3.254']]);
    const mid = parseInterfaceCidr('10.0.3.100/24');
    expect(dhcpPools(mid, parseDhcpRanges('10.0.3.50-10.0.3.150', mid)).map((r) => formatRange(r, 4))).toEqual([
      ['10.0.3.50', '10.0.3.99'],
      ['10.0.3.101', '10.0.3.150'],
    ]);
  });

  it('next free address: lowest pool address not taken, never gateway/network/broadcast', () => {
    expect(nextFreeAddress(cidr, [])).toBe('10.0.3.2');
    expect(nextFreeAddress(cidr, ['10.0.3.2', '10.0.3.3/32', '10.0.3.5'])).toBe('10.0.3.4');
    const ranges = parseDhcpRanges('10.0.3.100-10.0.3.101,10.0.3.200-10.0.3.200', cidr);
    expect(nextFreeAddress(cidr, ['10.0.3.100'], ranges)).toBe('10.0.3.101');
    expect(nextFreeAddress(cidr, ['10.0.3.100', '10.0.3.101'], ranges)).toBe('10.0.3.200');
    expect(nextFreeAddress(cidr, ['10.0.3.100', '10.0.3.101', '10.0.3.200'], ranges)).toBeUndefined();
    const small = parseInterfaceCidr('192.168.77.1/30'); // hosts .1 (gateway) and .2
    expect(nextFreeAddress(small, [])).toBe('192.168.77.2');
    expect(nextFreeAddress(small, ['192.168.77.2'])).toBeUndefined();
    expect(nextFreeAddress(parseInterfaceCidr('fd42::1/64'), ['fd42::2'])).toBe('fd42::3');
  });

  it('static addresses: anywhere in the subnet except gateway, network and broadcast', () => {
    expect(validateStaticAddress(cidr, '10.0.3.250')).toBe('10.0.3.250');
    for (const bad of ['10.0.3.1', '10.0.3.0', '10.0.3.255', '10.0.4.5', 'fd42::5', 'nope']) {
      expect(() => validateStaticAddress(cidr, bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('auto subnet', () => {
  it('takes the first candidate none of the host subnets, routes or Lodge networks overlaps', () => {
    const c = chooseAutoSubnet({
      pool: ['10.0.0.0/8'],
      hostSubnets: ['0.0.0.0/0', '10.0.0.0/23', '10.0.2.15', 'fd00::/8'],
      taken: ['10.0.3.1/24'],
    });
    expect(formatInterfaceCidr(c)).toBe('10.0.4.1/24');
  });

  it('starts at a random candidate and wraps around', () => {
    const c = chooseAutoSubnet({ pool: ['10.99.0.0/16'], hostSubnets: ['10.99.255.0/24'], random: () => 0.99999 });
    expect(formatInterfaceCidr(c)).toBe('10.99.0.1/24');
    expect(formatInterfaceCidr(chooseAutoSubnet({ pool: ['10.99.0.0/16'], hostSubnets: [], random: () => 0.5 }))).toBe('10.99.128.1/24');
  });

  it('several pool blocks; a clear error when everything is taken', () => {
    const c = chooseAutoSubnet({ pool: ['192.168.10.0/24', '172.16.0.0/23'], hostSubnets: ['192.168.10.0/24', '172.16.0.0/24'] });
    expect(formatInterfaceCidr(c)).toBe('172.16.1.1/24');
    expect(() => chooseAutoSubnet({ pool: ['192.168.10.0/24'], hostSubnets: ['192.168.0.0/16'] })).toThrow(/manual configuration/);
    expect(() => chooseAutoSubnet({ pool: ['10.0.0.0/24'], prefix: 16, hostSubnets: [] })).toThrow(InvalidArgumentError);
  });
});
