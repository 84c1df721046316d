/**
 * Run as a separate Node process by survival.e2e-spec.ts: spawns a container, prints its record
 * as JSON and exits, leaving the container running.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeCgroups, RuntimeService } from '@lodge/runtime';

async function main(): Promise<void> {
  const [parent, rootfs, dir] = process.argv.slice(2);
  const runtime = new RuntimeService({ cgroups: probeCgroups({ parent }) });
  const hostnameFile = join(dir, 'survivor.hostname');
  writeFileSync(hostnameFile, 'survivor\n');
  const c = await runtime.spawn({
    name: 'survivor',
    rootfs,
    haltSignal: 'SIGUSR2',
    consoleLog: join(dir, 'survivor.console.log'),
    binds: [{ source: hostnameFile, target: '/etc/hostname', readonly: true }],
  });
  process.stdout.write(JSON.stringify(c.describe()));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
