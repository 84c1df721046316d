/**
 * Managed networks and NICs through Debian's `lxc` client on a real lodged: a real bridge with
 * its dnsmasq and nftables table, busybox containers getting their address by DHCP (udhcpc),
 * reaching each other over the bridge, static addresses, a daemon restart, hot-plugged NICs, the
 * lease list, and bad input refused with nothing left behind. Every address used is on the
 * test's own bridge (10.252.<n>.0/24, made here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { lxcClient, until } from '../support';

const hostLinkExists = (name: string) => existsSync(`/sys/class/net/${name}`);
const nftTables = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });

describe('managed networks and NICs (lxc client)', () => {
  let d: EngineDaemon;
  const client = lxcClient(() => d.dir);
  const lxc = (...args: string[]) => client.run(args);
  const ok = (...args: string[]) => client.ok(args);
  const suffix = randomBytes(3).toString('hex');
  const net = `ltn${suffix}`;
  const other = `lto${suffix}`;
  const third = 1 + (randomBytes(1)[0] % 250);
  const subnet = `10.252.${third}`;
  /** the instance's IPv4 on eth0 as `lxc list` shows it, once it has one */
  const ipv4Of = async (name: string): Promise<string> => {
    let address = '';
    await until(async () => {
      const csv = await ok('list', name, '--format', 'csv', '-c', '4');
      address = /(\d+\.\d+\.\d+\.\d+) \(eth0\)/.exec(csv)?.[1] ?? '';
      return address !== '';
    });
    return address;
  };

  beforeAll(async () => {
    d = await startEngineDaemon('networks');
    await importBusybox(d, 'bb');
    await lxc('remote', 'list');
  });
  afterAll(async () => {
    try {
      for (const name of (await lxc('list', '--format', 'csv', '-c', 'n')).stdout.split('\n').filter(Boolean)) await lxc('delete', '--force', name);
      await lxc('profile', 'device', 'remove', 'default', 'eth0');
      for (const n of [net, other]) await lxc('network', 'delete', n);
      await d?.cleanup();
    } finally {
      client.cleanup();
      // whatever a failed test left: the bridges (their dnsmasq and nft tables go with a delete above)
      for (const n of [net, other]) if (hostLinkExists(n)) execFileSync('ip', ['link', 'del', n]);
    }
  });

  it('creates, lists, shows, sets and reads a managed bridge', async () => {
    await ok('network', 'create', net, `ipv4.address=${subnet}.1/24`, 'ipv4.nat=false', 'ipv6.address=none');
    expect(hostLinkExists(net)).toBe(true);
    const list = await ok('network', 'list', '--format', 'csv');
    expect(list).toMatch(new RegExp(`^${net},bridge,YES,${subnet.replace(/\./g, '\\.')}\\.1/24,`, 'm'));
    // the host's other interfaces are listed as unmanaged (the lxc client leaves loopback out of its table)
    const all = (await d.api('GET', '/1.0/networks?recursion=1')).json.metadata as Array<{ name: string; managed: boolean; type: string }>;
    expect(all).toContainEqual(expect.objectContaining({ name: 'lo', managed: false, type: 'loopback' }));
    expect(all).toContainEqual(expect.objectContaining({ name: net, managed: true, type: 'bridge' }));
    const show = await ok('network', 'show', net);
    expect(show).toContain(`ipv4.address: ${subnet}.1/24`);
    expect(show).toContain('managed: true');
    expect(show).toContain('status: Created');
    await ok('network', 'set', net, 'dns.domain', 'lodgetest');
    expect((await ok('network', 'get', net, 'dns.domain')).trim()).toBe('lodgetest');
    const info = await ok('network', 'info', net);
    expect(info).toContain(`inet\t${subnet}.1/24 (global)`);
    // the host has what the network says: the address on the bridge, its table, its dnsmasq
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', net], { encoding: 'utf8' })).toContain(`${subnet}.1/24`);
    expect(nftTables()).toContain(`table inet lodge_${net}`);
    expect(existsSync(join(d.dir, 'networks', net, 'dnsmasq.pid'))).toBe(true);
  });

  it('refuses bad networks and leaves nothing half-made', async () => {
    const overlap = await lxc('network', 'create', other, `ipv4.address=${subnet}.129/25`);
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toContain(`overlaps network "${net}"`);
    const badCidr = await lxc('network', 'create', other, 'ipv4.address=10.252.300.1/24');
    expect(badCidr.code).not.toBe(0);
    expect(badCidr.stderr).toContain('Invalid value for network option "ipv4.address"');
    const tooLong = await lxc('network', 'create', 'lodge-name-too-long', `ipv4.address=10.253.${third}.1/24`);
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toMatch(/Invalid network name "lodge-name-too-long": .*longer than 15 bytes/);
    const badRange = await lxc('network', 'create', other, `ipv4.address=10.253.${third}.1/24`, `ipv4.dhcp.ranges=10.254.0.10-10.254.0.20`);
    expect(badRange.code).not.toBe(0);
    expect(badRange.stderr).toContain('ipv4.dhcp.ranges');
    const unknownKey = await lxc('network', 'create', other, 'ipv4.bogus=1');
    expect(unknownKey.code).not.toBe(0);
    expect(unknownKey.stderr).toContain('Invalid option for network: "ipv4.bogus"');
    // nothing of any of them exists
    expect(hostLinkExists(other)).toBe(false);
    expect(hostLinkExists('lodge-name-too-long')).toBe(false);
    expect(nftTables()).not.toContain(`lodge_${other}`);
    expect(await ok('network', 'list', '--format', 'csv')).not.toContain(other);
    // the host's own interfaces cannot be changed or deleted through the API
    const unmanaged = await lxc('network', 'set', 'lo', 'ipv4.nat', 'true');
    expect(unmanaged.code).not.toBe(0);
    expect(unmanaged.stderr).toContain('Only managed networks can be modified');
  });

  it('launches with the default profile NIC: DHCP address in the subnet, listed, with its lease', async () => {
    await ok('profile', 'device', 'add', 'default', 'eth0', 'nic', `network=${net}`, 'name=eth0');
    await ok('launch', 'bb', 'c1');
    const address = await ipv4Of('c1');
    expect(address.startsWith(`${subnet}.`)).toBe(true);
    const mac = (await ok('config', 'get', 'c1', 'volatile.eth0.hwaddr')).trim();
    expect(mac).toMatch(/^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    // inside, eth0 has that MAC and the address dnsmasq handed out
    const inside = await ok('exec', 'c1', '--', 'ip', '-o', 'addr', 'show', 'dev', 'eth0');
    expect(inside).toContain(`${address}/24`);
    expect(await ok('exec', 'c1', '--', 'cat', '/sys/class/net/eth0/address')).toBe(`${mac}\n`);
    const leases = await ok('network', 'list-leases', net, '--format', 'csv');
    expect(leases).toContain(`c1,${mac},${address},DYNAMIC`);
    expect(leases).toContain(`${net}.gateway,`);
    // the host end of the veth is a port of the bridge
    const host = (await ok('config', 'get', 'c1', 'volatile.eth0.host_name')).trim();
    expect(execFileSync('ip', ['-o', 'link', 'show', 'master', net], { encoding: 'utf8' })).toContain(`${host}@`);
    // used_by names the profile and the instance; the network cannot be deleted
    const usedBy = (await d.api('GET', `/1.0/networks/${net}`)).json.metadata.used_by;
    expect(usedBy).toEqual(['/1.0/profiles/default', '/1.0/instances/c1']);
    expect(await ok('network', 'show', net)).toContain('- /1.0/instances/c1');
    const inUse = await lxc('network', 'delete', net);
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toContain('The network is currently in use');
    expect(hostLinkExists(net)).toBe(true);
  });

  it('honours a static ipv4.address, and two containers reach each other over the bridge', async () => {
    await ok('init', 'bb', 'c2');
    await ok('config', 'device', 'override', 'c2', 'eth0', `ipv4.address=${subnet}.200`);
    await ok('start', 'c2');
    expect(await ipv4Of('c2')).toBe(`${subnet}.200`);
    const c1 = await ipv4Of('c1');
    expect(await ok('exec', 'c1', '--', 'ping', '-c', '1', '-W', '5', `${subnet}.200`)).toContain('1 packets received');
    expect(await ok('exec', 'c2', '--', 'ping', '-c', '1', '-W', '5', c1)).toContain('1 packets received');
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).toContain(`c2,`);
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).toMatch(new RegExp(`c2,[0-9a-f:]+,${subnet.replace(/\./g, '\\.')}\\.200,STATIC`));
    // an address outside the subnet is refused before anything changes
    const outside = await lxc('config', 'device', 'set', 'c2', 'eth0', 'ipv4.address', '10.99.0.5');
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('10.99.0.5');
    // the same static address twice is refused at start with nothing left running
    await ok('init', 'bb', 'c3');
    await ok('config', 'device', 'override', 'c3', 'eth0', `ipv4.address=${subnet}.200`);
    const dup = await lxc('start', 'c3');
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain(`${subnet}.200`);
    expect((await ok('list', 'c3', '--format', 'csv', '-c', 's')).trim()).toBe('STOPPED');
    await ok('delete', 'c3');
    // a static address held by a stopped instance whose NIC then goes: given back at its next start,
    // and dnsmasq's reservations follow
    const hostsFile = join(d.dir, 'networks', net, 'dhcp-hosts');
    await ok('init', 'bb', 'c7');
    await ok('config', 'device', 'override', 'c7', 'eth0', `ipv4.address=${subnet}.201`);
    await ok('start', 'c7');
    await ok('stop', '--force', 'c7');
    expect(readFileSync(hostsFile, 'utf8')).toContain(`,${subnet}.201`);
    await ok('config', 'device', 'remove', 'c7', 'eth0');
    await ok('config', 'device', 'add', 'c7', 'eth0', 'none');
    await ok('start', 'c7');
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).not.toContain(`${subnet}.201`);
    expect(readFileSync(hostsFile, 'utf8')).not.toContain(`,${subnet}.201`);
    await ok('delete', '--force', 'c7');
  });

  it('keeps addresses across a daemon restart, and never hands one out twice afterwards', async () => {
    const before = { c1: await ipv4Of('c1'), c2: await ipv4Of('c2') };
    await d.restart();
    expect({ c1: await ipv4Of('c1'), c2: await ipv4Of('c2') }).toEqual(before);
    expect(await ok('exec', 'c1', '--', 'ping', '-c', '1', '-W', '5', before.c2)).toContain('1 packets received');
    await ok('launch', 'bb', 'c4');
    const c4 = await ipv4Of('c4');
    expect([before.c1, before.c2]).not.toContain(c4);
    await ok('delete', '--force', 'c4');
  });

  it('gives a restarted container the address it had, when it is still free', async () => {
    await ok('launch', 'bb', 'k1');
    await ok('launch', 'bb', 'k2');
    const [k1, k2] = [await ipv4Of('k1'), await ipv4Of('k2')];
    await ok('stop', '--force', 'k1', 'k2');
    // k2 starts first: the lowest free address would be k1's, but k2 asks for its own again
    await ok('start', 'k2');
    expect(await ipv4Of('k2')).toBe(k2);
    await ok('restart', '--force', 'k2');
    expect(await ipv4Of('k2')).toBe(k2);
    await ok('start', 'k1');
    expect(await ipv4Of('k1')).toBe(k1);
    await ok('delete', '--force', 'k1', 'k2');
  });

  it('adds and removes a NIC on a running container at once', async () => {
    await ok('config', 'device', 'add', 'c1', 'eth1', 'nic', `network=${net}`, 'name=eth1', 'mtu=1400');
    const mac = (await ok('config', 'get', 'c1', 'volatile.eth1.hwaddr')).trim();
    expect(await ok('exec', 'c1', '--', 'cat', '/sys/class/net/eth1/address')).toBe(`${mac}\n`);
    expect(await ok('exec', 'c1', '--', 'cat', '/sys/class/net/eth1/mtu')).toBe('1400\n');
    expect(await ok('exec', 'c1', '--', 'cat', '/sys/class/net/eth1/operstate')).not.toBe('down\n');
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).toContain(`c1,${mac},`);
    await ok('config', 'device', 'remove', 'c1', 'eth1');
    const gone = await lxc('exec', 'c1', '--', 'cat', '/sys/class/net/eth1/address');
    expect(gone.code).not.toBe(0);
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).not.toContain(mac);
    // a parent that does not exist is refused and nothing is added
    const missing = await lxc('config', 'device', 'add', 'c1', 'eth2', 'nic', 'nictype=bridged', `parent=nobr${suffix}`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`Parent interface "nobr${suffix}" doesn't exist on the host`);
    // a name the kernel cannot take is refused before anything is made
    const longName = await lxc('config', 'device', 'add', 'c1', 'eth3', 'nic', `network=${net}`, 'name=averyveryverylong0');
    expect(longName.code).not.toBe(0);
    expect(longName.stderr).toContain('longer than 15 bytes');
    expect((await ok('config', 'device', 'list', 'c1')).trim()).toBe('');
  });

  it('puts a macvlan NIC on a host interface, at start and hot-plugged', async () => {
    // the parent: a host interface made for the test (this kernel has no dummy driver: a veth end)
    const parent = `lmv${suffix}`;
    execFileSync('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `lmp${suffix}`]);
    try {
      execFileSync('ip', ['link', 'set', parent, 'up']);
      await ok('init', 'bb', 'm1');
      // the instance's own eth0 replaces the default profile's (on the managed network)
      await ok('config', 'device', 'add', 'm1', 'eth0', 'nic', 'nictype=macvlan', `parent=${parent}`, 'name=eth0');
      await ok('start', 'm1');
      const mac = (await ok('config', 'get', 'm1', 'volatile.eth0.hwaddr')).trim();
      expect(await ok('exec', 'm1', '--', 'cat', '/sys/class/net/eth0/address')).toBe(`${mac}\n`);
      expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(mac);
      await ok('config', 'device', 'add', 'm1', 'mv1', 'nic', 'nictype=macvlan', `parent=${parent}`, 'name=eth5');
      const mac5 = (await ok('config', 'get', 'm1', 'volatile.mv1.hwaddr')).trim();
      expect(await ok('exec', 'm1', '--', 'cat', '/sys/class/net/eth5/address')).toBe(`${mac5}\n`);
      await ok('delete', '--force', 'm1');
    } finally {
      await lxc('delete', '--force', 'm1');
      if (hostLinkExists(parent)) execFileSync('ip', ['link', 'del', parent]);
    }
  });

  it('renames an unused network (its bridge follows), and refuses to rename one in use', async () => {
    const renamed = `ltr${suffix}`;
    await ok('network', 'create', other, `ipv4.address=10.253.${third}.1/24`, 'ipv4.nat=false');
    await ok('network', 'rename', other, renamed);
    expect(hostLinkExists(other)).toBe(false);
    expect(hostLinkExists(renamed)).toBe(true);
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', renamed], { encoding: 'utf8' })).toContain(`10.253.${third}.1/24`);
    expect(nftTables()).toContain(`lodge_${renamed}`);
    expect(nftTables()).not.toContain(`lodge_${other}\n`);
    const inUse = await lxc('network', 'rename', net, renamed + 'x');
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toContain('Cannot rename network when in use');
    await ok('network', 'delete', renamed);
    expect(hostLinkExists(renamed)).toBe(false);
  });

  it('advertises an IPv6 prefix: the container configures itself by SLAAC', async () => {
    const v6net = `lt6${suffix}`;
    const prefix = `fd42:${parseInt(suffix.slice(0, 4), 16).toString(16)}:${third.toString(16)}:1`;
    await ok('network', 'create', v6net, 'ipv4.address=none', `ipv6.address=${prefix}::1/64`);
    try {
      await ok('init', 'bb', 'v6');
      await ok('config', 'device', 'add', 'v6', 'eth0', 'nic', `network=${v6net}`, 'name=eth0');
      await ok('start', 'v6');
      const mac = (await ok('config', 'get', 'v6', 'volatile.eth0.hwaddr')).trim();
      // the EUI-64 interface id from the NIC's MAC, in the advertised prefix
      const b = mac.split(':').map((h) => parseInt(h, 16));
      const eui = [((b[0] ^ 2) << 8) | b[1], (b[2] << 8) | 0xff, 0xfe00 | b[3], (b[4] << 8) | b[5]].map((x) => x.toString(16)).join(':');
      const expected = `${prefix}:${eui}`;
      await until(async () => (await ok('list', 'v6', '--format', 'csv', '-c', '6')).includes(`${expected} (eth0)`));
      await ok('delete', '--force', 'v6');
    } finally {
      await lxc('delete', '--force', 'v6');
      await lxc('network', 'delete', v6net);
    }
    expect(hostLinkExists(v6net)).toBe(false);
  });

  it('stopping gives the picked address back; deleting the last user lets the network go', async () => {
    const c1 = await ipv4Of('c1');
    const host = (await ok('config', 'get', 'c1', 'volatile.eth0.host_name')).trim();
    await ok('stop', '--force', 'c1');
    await until(async () => !(await ok('network', 'list-leases', net, '--format', 'csv')).includes(`,${c1},`));
    await until(() => !hostLinkExists(host));
    // dnsmasq forgot c1's lease: the address goes to the next NIC, and DHCP really hands it out
    await ok('launch', 'bb', 'c6');
    expect(await ipv4Of('c6')).toBe(c1);
    await ok('delete', '--force', 'c6');
    // the static address stays reserved for c2 while it exists
    await ok('delete', '--force', 'c1', 'c2');
    expect(await ok('network', 'list-leases', net, '--format', 'csv')).not.toContain(`${subnet}.200`);
    await ok('profile', 'device', 'remove', 'default', 'eth0');
    await ok('network', 'delete', net);
    expect(hostLinkExists(net)).toBe(false);
    expect(nftTables()).not.toContain(`lodge_${net}`);
    expect(existsSync(join(d.dir, 'networks', net))).toBe(false);
  });
});
