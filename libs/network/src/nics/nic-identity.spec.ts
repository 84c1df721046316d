import { missingNicMacs, nicHwaddr, nicNamesInside, nicsOf, randomHostVethName, randomMac } from './nic-identity';

describe('NIC identity', () => {
  it('makes unicast MACs in LXD\'s 00:16:3e prefix and veth names the kernel takes', () => {
    const macs = new Set(Array.from({ length: 200 }, randomMac));
    for (const m of macs) expect(m).toMatch(/^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    expect(macs.size).toBeGreaterThan(190);
    const name = randomHostVethName();
    expect(name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
  });

  it('uses the hwaddr option first, then the stored volatile MAC; only NICs without one get a new MAC', () => {
    const devices = {
      root: { type: 'disk', path: '/', pool: 'default' },
      eth0: { type: 'nic', network: 'br0' },
      eth1: { type: 'nic', network: 'br0', hwaddr: '00:16:3E:AA:BB:CC' },
      eth2: { type: 'nic', network: 'br0' },
    };
    const config = { 'volatile.eth2.hwaddr': '00:16:3e:00:00:02' };
    expect(nicsOf(devices).map(([n]) => n)).toEqual(['eth0', 'eth1', 'eth2']);
    expect(nicHwaddr('eth1', devices.eth1, config)).toBe('00:16:3e:aa:bb:cc');
    expect(nicHwaddr('eth2', devices.eth2, config)).toBe('00:16:3e:00:00:02');
    expect(nicHwaddr('eth0', devices.eth0, config)).toBeUndefined();
    expect(Object.keys(missingNicMacs(devices, config))).toEqual(['volatile.eth0.hwaddr']);
  });

  it('names interfaces inside by their name option, else the next ethN no other NIC claims', () => {
    const names = nicNamesInside({
      a: { type: 'nic', network: 'br0' },
      b: { type: 'nic', network: 'br0', name: 'eth0' },
      c: { type: 'nic', network: 'br0' },
      d: { type: 'proxy', listen: 'tcp:127.0.0.1:1', connect: 'tcp:127.0.0.1:1' },
    });
    expect([...names.entries()]).toEqual([
      ['a', 'eth1'],
      ['b', 'eth0'],
      ['c', 'eth2'],
    ]);
  });
});
