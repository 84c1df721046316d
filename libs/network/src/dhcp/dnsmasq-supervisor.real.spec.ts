import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processRunning } from './dnsmasq-process';
import { DnsmasqSupervisor } from './dnsmasq-supervisor';

const run = promisify(execFile);
const ip = (...args: string[]) => run('ip', args);

/**
 * A real bridge with an explicit private subnet, its dnsmasq, and DHCP clients (busybox udhcpc)
 * in network namespaces wired to the bridge by veths. DHCP traffic only: between the namespaces
 * and the bridge address this test made. Everything is removed at the end.
 */
describe('dnsmasq supervisor (real bridge, netns clients)', () => {
  const tag = randomBytes(3).toString('hex');
  const bridge = `lodgetst${tag}`;
  const octet = randomInt(0, 256);
  const net = `10.251.${octet}`;
  const supervisor = new DnsmasqSupervisor();
  let dir: string;
  let spec: { bridge: string; dir: string; ipv4: { address: string; ranges: string } };
  const namespaces: string[] = [];
  let script: string;

  beforeAll(async () => {
    const routes = (await ip('-4', 'route', 'show')).stdout;
    if (routes.includes(`${net}.`)) throw new Error(`${net}.0/24 is in use on this host; run again`);
    dir = await mkdtemp(join(tmpdir(), 'lodge-dnsmasq-'));
    await chmod(dir, 0o755); // dnsmasq's own user re-reads the hosts file from here
    spec = { bridge, dir: join(dir, 'net'), ipv4: { address: `${net}.1/24`, ranges: `${net}.100-${net}.150` } };
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${net}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    // udhcpc calls this on each event; it records "<event> <address>"
    script = join(dir, 'udhcpc.sh');
    await writeFile(script, '#!/bin/sh\necho "$1 $ip" >> "$0.$interface.log"\n', { mode: 0o755 });
  });

  afterAll(async () => {
    await supervisor.stop(spec).catch(() => undefined);
    for (const ns of namespaces) await ip('netns', 'del', ns).catch(() => undefined);
    await ip('link', 'del', bridge).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A namespace with a veth on the bridge whose inner end has `mac`; returns the inner name. */
  async function client(n: number, mac: string): Promise<{ ns: string; ifname: string }> {
    const ns = `lodgetst${tag}n${n}`;
    const host = `lt${tag}h${n}`;
    const ifname = `lt${tag}c${n}`;
    await ip('netns', 'add', ns);
    namespaces.push(ns);
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', ifname);
    await ip('link', 'set', host, 'master', bridge, 'up');
    await ip('link', 'set', ifname, 'netns', ns);
    await ip('-n', ns, 'link', 'set', ifname, 'address', mac, 'up');
    return { ns, ifname };
  }

  async function dhcp(c: { ns: string; ifname: string }): Promise<string> {
    await run('ip', ['netns', 'exec', c.ns, 'busybox', 'udhcpc', '-i', c.ifname, '-q', '-n', '-t', '10', '-T', '1', '-s', script], { timeout: 30_000 });
    const log = await readFile(`${script}.${c.ifname}.log`, 'utf8');
    const bound = log.split('\n').filter((l) => l.startsWith('bound '));
    return bound[bound.length - 1].split(' ')[1];
  }

  it('hands out a reserved address by MAC and dynamic ones from the range; leases are parsed', async () => {
    const reservedMac = '00:16:3e:aa:00:01';
    const started = await supervisor.start(spec, [{ hwaddr: reservedMac, ipv4: `${net}.42`, hostname: 'reserved' }]);
    expect(started.adopted).toBe(false);
    const cmdline = (await readFile(`/proc/${started.pid}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--no-resolv', `--interface=${bridge}`]));

    const a = await client(1, reservedMac);
    expect(await dhcp(a)).toBe(`${net}.42`); // outside the dynamic range: the static pool serves it

    const b = await client(2, '00:16:3e:aa:00:02');
    const dyn = await dhcp(b);
    const last = Number(dyn.split('.')[3]);
    expect(dyn.startsWith(`${net}.`) && last >= 100 && last <= 150).toBe(true);

    const leases = await supervisor.leases(spec);
    expect(leases).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 4, hwaddr: reservedMac, address: `${net}.42` }),
        expect.objectContaining({ family: 4, hwaddr: '00:16:3e:aa:00:02', address: dyn }),
      ]),
    );
    expect(leases.every((l) => l.expiry === null || l.expiry.getTime() > Date.now())).toBe(true);
  });

  it('a reservation added while running is honoured after the reload', async () => {
    const mac = '00:16:3e:aa:00:03';
    await supervisor.addReservation(spec, { hwaddr: mac, ipv4: `${net}.43` });
    expect((await supervisor.reservations(spec)).map((r) => r.ipv4)).toEqual([`${net}.42`, `${net}.43`]);
    expect(await dhcp(await client(3, mac))).toBe(`${net}.43`);
    expect(await supervisor.removeReservation(spec, mac)).toBe(true);
    expect(await supervisor.removeReservation(spec, mac)).toBe(false);
  });

  it('a new supervisor (daemon restart) re-adopts the running dnsmasq and stops it by PID', async () => {
    const first = await supervisor.find(spec);
    expect(first).toBeDefined();
    const again = new DnsmasqSupervisor();
    const adopted = await again.start(spec, await supervisor.reservations(spec));
    expect(adopted).toMatchObject({ adopted: true, pid: first!.pid });
    // another bridge's name does not match this process
    expect(await again.find({ ...spec, bridge: `${bridge}x` })).toBeUndefined();
    expect(await again.stop(spec)).toBe(true);
    expect(await processRunning(first!)).toBe(false); // gone, or a zombie until init reaps it
    expect(await again.find(spec)).toBeUndefined();
    expect(await again.stop(spec)).toBe(false);
  });

  it('a start that cannot bind reports dnsmasq\'s reason', async () => {
    const bad = { ...spec, bridge: `${bridge}x`, dir: join(dir, 'bad'), ipv4: { address: '10.252.254.1/24', ranges: '10.252.254.10-10.252.254.20' } };
    await expect(supervisor.start(bad)).rejects.toThrow(/dnsmasq: exit \d+ \(.+\)/);
  });
});
