import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leftoverCgroups, makeHarness, processesInParent, waitFor } from './harness';

/**
 * beforeInit: what the caller sets up while init is held (its NICs) is there from init's first
 * instruction; a failing step ends the start and leaves nothing.
 */
describe('a held init (beforeInit)', () => {
  const h = makeHarness('hold');
  afterAll(() => h.teardown());

  // init's first act: report whether the link the hook made in its network namespace is there
  const probeInit = ['/bin/sh', '-c', 'if grep -q lodgeprobe0 /proc/net/dev; then echo link-seen; else echo link-missing; fi; exec sleep 1000'];

  it('runs the step in init\'s own namespaces before init runs', async () => {
    let heldPid = 0;
    let commWhileHeld = '';
    const c = await h.spawn('held1', {
      init: probeInit,
      beforeInit: async ({ pid }) => {
        heldPid = pid;
        commWhileHeld = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'link', 'add', 'lodgeprobe0', 'type', 'veth', 'peer', 'name', 'lodgeprobe1']);
      },
    });
    expect(heldPid).toBe(c.pid);
    // held before execve: still the name of the daemon's thread, not init's
    expect(commWhileHeld).not.toBe('sh');
    const log = join(h.dir, 'held1.console.log');
    expect(await waitFor(() => readFileSync(log, 'utf8').includes('link-'))).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('link-seen');
    expect(readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim()).toBe('sleep');
    await c.stop({ force: true });
  });

  it('ends the start when the step fails: the error comes back and nothing is left', async () => {
    let heldPid = 0;
    await expect(
      h.spawn('held2', {
        init: probeInit,
        beforeInit: async ({ pid }) => {
          heldPid = pid;
          throw new Error('the NIC could not be made');
        },
      }),
    ).rejects.toThrow('the NIC could not be made');
    expect(heldPid).toBeGreaterThan(0);
    expect(await waitFor(() => processesInParent(h.parent).length === 0)).toBe(true);
    let alive = true;
    try {
      process.kill(heldPid, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
    expect(h.runtime.get('held2')).toBeUndefined();
    expect(leftoverCgroups(h.parent).filter((d) => d.includes('held2'))).toEqual([]);
    // the name can be used again at once
    const again = await h.spawn('held2', { init: probeInit });
    await again.stop({ force: true });
  });
});
