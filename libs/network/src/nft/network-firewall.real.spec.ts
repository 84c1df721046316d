import { randomBytes } from 'node:crypto';
import { NetworkFirewall } from './network-firewall';
import { nftApply, nftJson } from './nft-command';

/** A uniquely named table of Lodge's in the real kernel; always removed at the end. */
describe('network firewall (real nftables)', () => {
  const fw = new NetworkFirewall();
  const table = `lodge_lodgetst${randomBytes(3).toString('hex')}`;
  const bridge = `lodgetst${randomBytes(3).toString('hex')}`; // rules match the name; no link is needed
  const spec = { table, bridge, ipv4: { subnet: '10.251.77.1/24', nat: true } };

  afterAll(async () => {
    await fw.remove(table);
  });

  const rules = async () =>
    (await nftJson(['list', 'table', 'inet', table])).filter((o) => o.rule).map((o) => o.rule as { chain: string; expr: unknown[] });

  it('applies the table, re-applies it idempotently and removes it', async () => {
    await fw.apply(spec);
    expect(await fw.listTables()).toContain(table);
    const first = await rules();
    const masq = first.filter((r) => r.chain === 'postrouting');
    expect(masq).toHaveLength(1);
    const text = JSON.stringify(masq[0].expr);
    expect(text).toContain('"masquerade"');
    expect(text).toContain('{"prefix":{"addr":"10.251.77.0","len":24}}');
    expect(JSON.stringify(first.filter((r) => r.chain === 'input'))).toContain(bridge);

    await fw.apply(spec); // after a daemon restart: the same table, not a second copy of the rules
    expect((await rules()).length).toBe(first.length);

    await fw.apply({ ...spec, ipv4: { ...spec.ipv4, nat: false } });
    expect((await rules()).filter((r) => r.chain === 'postrouting')).toHaveLength(0);

    await fw.remove(table);
    expect(await fw.listTables()).not.toContain(table);
    expect(await fw.describe(table)).toBeNull();
    await fw.remove(table); // removing again is fine
  });

  it('a failing script changes nothing (one kernel transaction)', async () => {
    await fw.apply(spec);
    const before = await rules();
    await expect(nftApply(`delete table inet ${table}\ntable inet ${table} { chain c { bogus; } }\n`)).rejects.toThrow(/nft -f -/);
    expect(await rules()).toEqual(before);
  });
});
