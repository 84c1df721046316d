import { rejection } from '../../../config/test/rejection';
import { validateNetworkConfig, validateNetworkName } from './network-keys';


describe('bridge network config', () => {
  it('accepts what LXD users and Juju set', () => {
    expect(() =>
      validateNetworkConfig({
        'ipv4.address': '10.123.4.1/24',
        'ipv4.nat': 'true',
        'ipv4.dhcp.ranges': '10.123.4.100-10.123.4.200',
        'ipv4.dhcp.expiry': '1h',
        'ipv6.address': 'none',
        'ipv6.nat': 'false',
        'dns.domain': 'lodge',
        'bridge.mtu': '1450',
        'user.owner': 'juju',
      }),
    ).not.toThrow();
    expect(() => validateNetworkConfig({ 'ipv4.address': 'auto', 'ipv6.address': 'fd42:1:2:3::1/64' })).not.toThrow();
  });
  it('refuses unknown keys, bad values and DHCP ranges outside the subnet, with the key named', () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'ipv4.routing': 'true' }, 'Invalid option for network: "ipv4.routing"'],
      [{ 'ipv4.address': '10.0.0.0/33' }, 'Invalid value for network option "ipv4.address": Invalid prefix length in "10.0.0.0/33"'],
      [{ 'ipv4.address': '10.0.3.0/24' }, 'Invalid value for network option "ipv4.address": "10.0.3.0/24" is the network address of its subnet, not a host address'],
      [{ 'ipv4.address': 'fd00::1/64' }, 'Invalid value for network option "ipv4.address": Invalid CIDR "fd00::1/64" (an IPv4 address and a prefix length)'],
      [{ 'ipv4.nat': 'maybe' }, 'Invalid value for network option "ipv4.nat": "maybe" is not a boolean (use true or false)'],
      [{ 'bridge.mtu': '9' }, 'Invalid value for network option "bridge.mtu": 9 is not between 68 and 65535'],
      [{ 'ipv4.address': '10.0.3.1/24', 'ipv4.dhcp.ranges': '10.0.4.2-10.0.4.9' }, 'Invalid value for network option "ipv4.dhcp.ranges": DHCP range "10.0.4.2-10.0.4.9" is not within the subnet 10.0.3.0/24'],
      [{ 'ipv4.dhcp.ranges': '10.0.4.2-10.0.4.9' }, '"ipv4.dhcp.ranges" needs "ipv4.address" set to a subnet'],
      [{ 'ipv6.address': 'fd42::1/64', 'ipv6.dhcp.ranges': 'fd43::2-fd43::9' }, 'Invalid value for network option "ipv6.dhcp.ranges": DHCP range "fd43::2-fd43::9" is not within the subnet fd42::/64'],
      [{ 'ipv6.dhcp.ranges': 'fd42::2-fd42::9' }, '"ipv6.dhcp.ranges" needs "ipv6.address" set to a subnet'],
      [{ 'dns.domain': 'bad domain' }, 'Invalid value for network option "dns.domain": "bad domain" is not a DNS domain name'],
    ];
    for (const [config, why] of cases) expect(rejection(() => validateNetworkConfig(config))).toBe(why);
  });
  it('network names are interface names', () => {
    expect(() => validateNetworkName('lodgebr0')).not.toThrow();
    expect(rejection(() => validateNetworkName('a-name-too-long-0'))).toBe('Invalid network name "a-name-too-long-0": interface name "a-name-too-long-0" is longer than 15 bytes (the kernel\'s limit)');
    expect(rejection(() => validateNetworkName('br/0'))).toBe('Invalid network name "br/0": "br/0" is not a valid interface name');
  });
});
