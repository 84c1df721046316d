/**
 * Scale through the REST API against a real lodged: 50 launches in parallel all succeed and run;
 * 1000 instances list correctly at every recursion level, with their real status.
 */
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';

/** Runs `fn` over `items` with at most `width` in flight. */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

describe('lodged at scale', () => {
  let d: EngineDaemon;
  beforeAll(async () => {
    d = await startEngineDaemon('scale');
    await importBusybox(d, 'bb');
  });
  afterAll(() => d?.cleanup());

  const launched = Array.from({ length: 50 }, (_, i) => `par${i + 1}`);

  it('launches 50 instances in parallel: every create and start succeeds and runs', async () => {
    const results = await Promise.all(
      launched.map(async (name) => {
        const created = await d.waitOp(await d.api('POST', '/1.0/instances', { body: { name, source: { type: 'image', alias: 'bb' } } }));
        const started = await d.waitOp(await d.api('PUT', `/1.0/instances/${name}/state`, { body: { action: 'start' } }));
        return [created.status, started.status, created.err || started.err];
      }),
    );
    expect(results).toEqual(launched.map(() => ['Success', 'Success', '']));
    for (const name of launched) expect(d.runtime.get(name)?.state).toBe('running');
  });

  it('lists 1000 instances correctly at recursion 0, 1 and 2, and filters by status', async () => {
    const more = Array.from({ length: 1000 - launched.length }, (_, i) => `many${i + 1}`);
    const created = await inBatches(more, 16, async (name) =>
      (await d.waitOp(await d.api('POST', '/1.0/instances', { body: { name, source: { type: 'image', alias: 'bb' } } }))).status,
    );
    expect(created.filter((s) => s !== 'Success')).toEqual([]);
    const all = [...launched, ...more].sort();

    const r0 = await d.api('GET', '/1.0/instances');
    expect((r0.json.metadata as string[]).map((u) => u.replace('/1.0/instances/', '')).sort()).toEqual(all);

    const r1 = (await d.api('GET', '/1.0/instances?recursion=1')).json.metadata as Array<{ name: string; status: string }>;
    expect(r1.map((i) => i.name).sort()).toEqual(all);
    expect(r1.filter((i) => i.status === 'Running').map((i) => i.name).sort()).toEqual([...launched].sort());

    const r2 = (await d.api('GET', '/1.0/instances?recursion=2')).json.metadata as Array<{ name: string; status: string; state: { status: string; pid: number; processes: number } }>;
    expect(r2).toHaveLength(1000);
    for (const i of r2) {
      expect(i.state.status).toBe(i.status);
      if (i.status === 'Running') {
        expect(i.state.pid).toBe(d.runtime.get(i.name)!.pid);
        expect(i.state.processes).toBeGreaterThan(0);
      } else {
        expect(i.status).toBe('Stopped');
      }
    }

    const running = (await d.api('GET', `/1.0/instances?recursion=1&filter=${encodeURIComponent('status eq Running')}`)).json.metadata as Array<{ name: string }>;
    expect(running.map((i) => i.name).sort()).toEqual([...launched].sort());
  });
});
