import { InvalidArgumentError } from '@lodge/common';
import { networkTableName, renderNetworkRules, renderTableRemoval } from './network-ruleset';

describe('network nftables rules', () => {
  it('replaces the table atomically and masquerades the subnet when NAT is on', () => {
    const s = renderNetworkRules({ table: networkTableName('lodgebr0'), bridge: 'lodgebr0', ipv4: { subnet: '10.0.3.1/24', nat: true } });
    expect(s.split('\n').slice(0, 3)).toEqual(['table inet lodge_lodgebr0', 'delete table inet lodge_lodgebr0', 'table inet lodge_lodgebr0 {']);
    expect(s).toContain('ip saddr 10.0.3.0/24 ip daddr != 10.0.3.0/24 masquerade');
    expect(s).toContain('iifname "lodgebr0" udp dport { 53, 67, 547 } accept');
    expect(s).not.toContain('ip6 saddr');
  });

  it('no masquerade without NAT; IPv6 NAT on its own', () => {
    const s = renderNetworkRules({ table: 'lodge_x', bridge: 'x', ipv4: { subnet: '10.0.3.1/24', nat: false }, ipv6: { subnet: 'fd42:1::1/64', nat: true } });
    expect(s).not.toContain('ip saddr');
    expect(s).toContain('ip6 saddr fd42:1::/64 ip6 daddr != fd42:1::/64 masquerade');
  });

  it('refuses names that would not be plain identifiers or interface names', () => {
    expect(() => networkTableName('a b')).toThrow(InvalidArgumentError);
    expect(() => renderNetworkRules({ table: 'lodge_x', bridge: 'x"; flush ruleset', ipv4: { subnet: '10.0.3.1/24', nat: true } })).toThrow(InvalidArgumentError);
    expect(() => renderNetworkRules({ table: 'lodge_x', bridge: 'x', ipv4: { subnet: 'fd42::/64', nat: true } })).toThrow(InvalidArgumentError);
    expect(renderTableRemoval('lodge_x')).toBe('table inet lodge_x\ndelete table inet lodge_x\n');
  });
});
