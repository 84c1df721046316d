import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { NetlinkLinks, isNotFound } from './netlink-links';

const run = promisify(execFile);

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}
interface IpAddr {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

/**
 * Real links in the real kernel: a bridge named lodgetst<random>, a network namespace held by an
 * `unshare --net sleep` child of the test, veths and a macvlan made into it. Checked with `ip -j`
 * from the host and, for the namespace, through nsenter. Everything is removed at the end, also
 * when a test fails; the namespace (and whatever is left in it) goes with its process.
 */
describe('netlink links (real kernel)', () => {
  const links = new NetlinkLinks();
  const tag = randomBytes(3).toString('hex');
  const bridge = `lodgetst${tag}`;
  // This kernel has no dummy driver: a veth end serves as the macvlan parent.
  const parent = `lodgetstd${tag}`;
  const host = (n: number) => `lt${tag}h${n}`;
  const net = `10.251.${randomInt(0, 256)}`;
  let child: ChildProcess;
  let nsFd = -1;

  const ip = async <T>(...args: string[]): Promise<T> => JSON.parse((await run('ip', ['-j', ...args])).stdout || '[]') as T;
  const nsIp = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await run('nsenter', [`--net=/proc/${child.pid}/ns/net`, 'ip', '-j', ...args])).stdout || '[]') as T;
  const hostLink = async (name: string) => (await ip<IpLink[]>('-d', 'link', 'show', 'dev', name))[0];
  const nsLink = async (name: string) => (await nsIp<IpLink[]>('-d', 'link', 'show', 'dev', name))[0];
  const exists = (name: string) => run('ip', ['link', 'show', 'dev', name]).then(() => true, () => false);
  const nsExists = (name: string) => run('nsenter', [`--net=/proc/${child.pid}/ns/net`, 'ip', 'link', 'show', 'dev', name]).then(() => true, () => false);

  beforeAll(async () => {
    child = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    const own = readlinkSync('/proc/self/ns/net');
    // until unshare has made the namespace and exec'd sleep in it
    for (let i = 0; i < 200; i++) {
      try {
        if (readlinkSync(`/proc/${child.pid}/ns/net`) !== own) break;
      } catch {
        /* not started yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    nsFd = openSync(`/proc/${child.pid}/ns/net`, 'r');
    await run('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `lt${tag}dp`]);
  });

  afterAll(async () => {
    for (const name of [host(0), host(1), host(2), host(3), parent, bridge]) await run('ip', ['link', 'del', name]).catch(() => undefined);
    if (nsFd >= 0) closeSync(nsFd);
    if (child?.pid) process.kill(child.pid, 'SIGKILL');
  });

  it('makes a bridge with MTU and MAC, brings it up and gives it IPv4 and IPv6 addresses', async () => {
    await links.createBridge(bridge, { mtu: 1400, hwaddr: '02:16:3e:00:00:01' });
    let br = await hostLink(bridge);
    expect(br).toMatchObject({ mtu: 1400, address: '02:16:3e:00:00:01', linkinfo: { info_kind: 'bridge' } });
    expect(br.flags).not.toContain('UP');
    await links.setUp(bridge);
    br = await hostLink(bridge);
    expect(br.flags).toContain('UP');

    await links.addAddress(bridge, `${net}.1/24`);
    await links.addAddress(bridge, 'fd42:4c0d:6a::1/64');
    const [shown] = await ip<IpAddr[]>('addr', 'show', 'dev', bridge);
    expect(shown.addr_info).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'inet', local: `${net}.1`, prefixlen: 24, scope: 'global' }),
        expect.objectContaining({ family: 'inet6', local: 'fd42:4c0d:6a::1', prefixlen: 64, scope: 'global' }),
      ]),
    );
    const listed = await links.listAddresses(bridge);
    expect(listed).toEqual(
      expect.arrayContaining([
        { ifname: bridge, family: 4, address: `${net}.1`, prefix: 24, scope: 'global' },
        { ifname: bridge, family: 6, address: 'fd42:4c0d:6a::1', prefix: 64, scope: 'global' },
      ]),
    );
    expect((await links.listAddresses()).filter((a) => a.ifname === bridge)).toEqual(listed);
    const link = (await links.listLinks()).find((l) => l.name === bridge);
    expect(link).toMatchObject({ kind: 'bridge', mtu: 1400, hwaddr: '02:16:3e:00:00:01', up: true });

    await expect(links.addAddress(bridge, `${net}.1/24`)).rejects.toThrow(AlreadyExistsError);
    await links.delAddress(bridge, `${net}.1/24`);
    await expect(links.delAddress(bridge, `${net}.1/24`)).rejects.toThrow(NotFoundError);
    await links.addAddress(bridge, `${net}.1/24`);
    await expect(links.createBridge(bridge)).rejects.toThrow(AlreadyExistsError);
  });

  it('makes a veth whose host end is up on the bridge and whose peer is eth0, up, in the namespace', async () => {
    await links.createVethIntoNamespace({ hostName: host(0), peerName: 'eth0', peerNetnsFd: nsFd, bridge, mtu: 1400, hwaddr: '02:16:3e:aa:00:01' });
    const h = await hostLink(host(0));
    expect(h).toMatchObject({ master: bridge, mtu: 1400, linkinfo: { info_kind: 'veth' } });
    expect(h.flags).toContain('UP');
    expect(await nsExists(host(0))).toBe(false);
    const eth0 = await nsLink('eth0');
    expect(eth0).toMatchObject({ mtu: 1400, address: '02:16:3e:aa:00:01', linkinfo: { info_kind: 'veth' } });
    expect(eth0.flags).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
    expect((await ip<IpLink[]>('link', 'show')).some((l) => l.address === '02:16:3e:aa:00:01')).toBe(false); // not on the host

    const inside = await links.listLinks(nsFd);
    expect(inside.find((l) => l.name === 'eth0')).toMatchObject({ kind: 'veth', up: true, mtu: 1400, hwaddr: '02:16:3e:aa:00:01' });
    expect(inside.find((l) => l.name === 'lo')).toMatchObject({ kind: 'loopback' });
    expect((await links.listLinks()).find((l) => l.name === host(0))).toMatchObject({ kind: 'veth', master: bridge, up: true });

    await run('nsenter', [`--net=/proc/${child.pid}/ns/net`, 'ip', 'addr', 'add', `${net}.2/24`, 'dev', 'eth0']);
    const inner = await links.listAddresses('eth0', nsFd);
    expect(inner).toContainEqual({ ifname: 'eth0', family: 4, address: `${net}.2`, prefix: 24, scope: 'global' });
    // the kernel's own link-local address of an up interface, derived from the MAC
    expect(inner).toContainEqual({ ifname: 'eth0', family: 6, address: 'fe80::16:3eff:feaa:1', prefix: 64, scope: 'link' });

    // a port with a larger MTU does not raise the bridge's: the MTU was set by the user
    await links.createVethIntoNamespace({ hostName: host(1), peerName: 'eth1', peerNetnsFd: nsFd, bridge, mtu: 1500 });
    expect((await hostLink(bridge)).mtu).toBe(1400);
    await links.deleteLinkInNamespace(nsFd, 'eth1');
    expect(await nsExists('eth1')).toBe(false);
    expect(await exists(host(1))).toBe(false); // the host end goes with its peer
  });

  it('makes a macvlan in bridge mode on a parent, in the namespace', async () => {
    await links.createMacvlanIntoNamespace({ parent, peerName: 'mv0', netnsFd: nsFd, mtu: 1400, hwaddr: '02:16:3e:bb:00:01' });
    const mv = await nsLink('mv0');
    expect(mv).toMatchObject({ mtu: 1400, address: '02:16:3e:bb:00:01', linkinfo: { info_kind: 'macvlan', info_data: { mode: 'bridge' } } });
    expect(mv.flags).toContain('UP');
    expect(await exists('mv0')).toBe(false);
    expect((await links.listLinks(nsFd)).find((l) => l.name === 'mv0')).toMatchObject({ kind: 'macvlan', up: true });
  });

  it('refuses what cannot be made, and leaves nothing half made', async () => {
    const missing = `lodgetstx${tag}`;
    const noBridge = links.createVethIntoNamespace({ hostName: host(2), peerName: 'eth2', peerNetnsFd: nsFd, bridge: missing });
    await expect(noBridge).rejects.toThrow(NotFoundError);
    await expect(noBridge).rejects.toThrow(`network interface ${missing} not found`);
    expect(await exists(host(2))).toBe(false);
    expect(await nsExists('eth2')).toBe(false);

    await expect(links.createMacvlanIntoNamespace({ parent: missing, peerName: 'mv1', netnsFd: nsFd })).rejects.toThrow(NotFoundError);
    expect(await nsExists('mv1')).toBe(false);

    // the host name is taken
    await expect(links.createVethIntoNamespace({ hostName: host(0), peerName: 'eth3', peerNetnsFd: nsFd, bridge })).rejects.toThrow(AlreadyExistsError);
    expect(await nsExists('eth3')).toBe(false);
    // the name inside the namespace is taken
    await expect(links.createVethIntoNamespace({ hostName: host(3), peerName: 'eth0', peerNetnsFd: nsFd, bridge })).rejects.toThrow(AlreadyExistsError);
    expect(await exists(host(3))).toBe(false);
    await expect(links.createMacvlanIntoNamespace({ parent, peerName: 'mv0', netnsFd: nsFd })).rejects.toThrow(AlreadyExistsError);

    await expect(links.createBridge('lodgetst-much-too-long')).rejects.toThrow(InvalidArgumentError);
    await expect(links.createBridge('lodgetst-much-too-long')).rejects.toThrow(/1 to 15 bytes/);
    await expect(links.createVethIntoNamespace({ hostName: host(3), peerName: 'eth3', peerNetnsFd: nsFd, hwaddr: 'not-a-mac' })).rejects.toThrow(InvalidArgumentError);
    expect(await exists('lodgetst-much-')).toBe(false);
    expect(await exists(host(3))).toBe(false);
  });

  it('deletes links, and a missing one is recognisable', async () => {
    await links.deleteLinkInNamespace(nsFd, 'mv0');
    expect(await nsExists('mv0')).toBe(false);
    await links.deleteLink(host(0));
    expect(await exists(host(0))).toBe(false);
    expect(await nsExists('eth0')).toBe(false);

    const again = links.deleteLink(host(0));
    await expect(again).rejects.toThrow(NotFoundError);
    expect(isNotFound(await again.catch((e: unknown) => e))).toBe(true);
    expect(isNotFound(await links.deleteLinkInNamespace(nsFd, 'eth0').catch((e: unknown) => e))).toBe(true);
    await expect(links.setUp(host(0))).rejects.toThrow(`network interface ${host(0)} not found`);
    await expect(links.listAddresses(host(0))).rejects.toThrow(NotFoundError);

    await links.deleteLink(bridge);
    expect(await exists(bridge)).toBe(false);
  });
});
