import { networkOfDevice, networkUsers } from './network-users';

describe('network users (used_by)', () => {
  it('finds the network of managed, bridged and macvlan NICs only', () => {
    expect(networkOfDevice({ type: 'nic', network: 'br0' })).toBe('br0');
    expect(networkOfDevice({ type: 'nic', nictype: 'bridged', parent: 'br1' })).toBe('br1');
    expect(networkOfDevice({ type: 'nic', nictype: 'macvlan', parent: 'eth0' })).toBe('eth0');
    expect(networkOfDevice({ type: 'disk', path: '/', pool: 'default' })).toBeUndefined();
  });

  it('lists profiles naming it and instances whose expanded devices use it; a masking none device counts as not using it', () => {
    const profiles = [
      { name: 'default', config: {}, devices: { eth0: { type: 'nic', network: 'br0' } } },
      { name: 'other', config: {}, devices: {} },
    ];
    const instances = [
      { name: 'c1', config: {}, devices: {}, profiles: ['default'] },
      { name: 'c2', config: {}, devices: { eth0: { type: 'none' } }, profiles: ['default'] },
      { name: 'c3', config: {}, devices: { eth1: { type: 'nic', nictype: 'bridged', parent: 'br0' } }, profiles: ['other'] },
      { name: 'c4', config: {}, devices: {}, profiles: ['gone', 'other'] },
    ];
    expect(networkUsers('br0', profiles, instances)).toEqual(['/1.0/profiles/default', '/1.0/instances/c1', '/1.0/instances/c3']);
    expect(networkUsers('br9', profiles, instances)).toEqual([]);
  });
});
