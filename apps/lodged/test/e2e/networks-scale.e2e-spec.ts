/**
 * 50 launches in parallel on one managed bridge: every container gets an address by DHCP, no
 * address is held twice (in the database, in dnsmasq's leases, or inside the containers), and
 * what each container has is what the database allocated to its MAC. Traffic stays on the test's
 * own bridge (10.254.<n>.0/24).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { until } from '../support';

describe('NICs under 50 parallel launches', () => {
  let d: EngineDaemon;
  const bridge = `lts${randomBytes(3).toString('hex')}`;
  const subnet = `10.254.${1 + (randomBytes(1)[0] % 250)}`;
  const names = Array.from({ length: 50 }, (_, i) => `n${i + 1}`);

  beforeAll(async () => {
    d = await startEngineDaemon('netscale');
    await importBusybox(d, 'bb');
    const r = await d.api('POST', '/1.0/networks', { body: { name: bridge, config: { 'ipv4.address': `${subnet}.1/24`, 'ipv4.nat': 'false' } } });
    if (r.status !== 201) throw new Error(r.text);
  });
  afterAll(async () => {
    try {
      await Promise.all(
        names.map(async (n) => {
          await d?.api('PUT', `/1.0/instances/${n}/state`, { body: { action: 'stop', force: true } }).then((r) => r.status === 202 && d.waitOp(r)).catch(() => undefined);
          await d?.api('DELETE', `/1.0/instances/${n}`).then((r) => r.status === 202 && d.waitOp(r)).catch(() => undefined);
        }),
      );
      await d?.api('DELETE', `/1.0/networks/${bridge}`).catch(() => undefined);
      await d?.cleanup();
    } finally {
      if (existsSync(`/sys/class/net/${bridge}`)) execFileSync('ip', ['link', 'del', bridge]);
    }
  });

  it('gives every container its own address', async () => {
    const eth0 = { eth0: { type: 'nic', network: bridge, name: 'eth0' } };
    const results = await Promise.all(
      names.map(async (name) => {
        const created = await d.waitOp(await d.api('POST', '/1.0/instances', { body: { name, source: { type: 'image', alias: 'bb' }, devices: eth0 } }));
        const started = await d.waitOp(await d.api('PUT', `/1.0/instances/${name}/state`, { body: { action: 'start' } }));
        return created.err || started.err || 'ok';
      }),
    );
    expect(results).toEqual(names.map(() => 'ok'));

    // the database: 50 allocations, 50 distinct addresses, 50 distinct MACs
    const leases = (await d.api('GET', `/1.0/networks/${bridge}/leases`)).json.metadata as Array<{ hostname: string; hwaddr: string; address: string; type: string }>;
    const mine = leases.filter((l) => l.type !== 'gateway');
    expect(mine.map((l) => l.hostname).sort()).toEqual([...names].sort());
    expect(new Set(mine.map((l) => l.address)).size).toBe(50);
    expect(new Set(mine.map((l) => l.hwaddr)).size).toBe(50);

    // inside: each container ends up with exactly the address allocated to its MAC
    const seen = new Map<string, string>();
    await Promise.all(
      names.map(async (name) => {
        const lease = mine.find((l) => l.hostname === name)!;
        const address = await until(async () => {
          const state = (await d.api('GET', `/1.0/instances/${name}/state`)).json.metadata;
          const inet = (state.network?.eth0?.addresses ?? []).find((a: { family: string }) => a.family === 'inet');
          return inet ? { address: inet.address as string, hwaddr: state.network.eth0.hwaddr as string } : undefined;
        });
        expect(address).toEqual({ address: lease.address, hwaddr: lease.hwaddr });
        seen.set(address!.address, name);
      }),
    );
    expect(seen.size).toBe(50);
  });
});
