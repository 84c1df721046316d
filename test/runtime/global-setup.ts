/**
 * Runtime tests need root, a subordinate id range for root and the test images; the images are
 * built here from Debian's busybox-static by the repo's own script (nothing is downloaded).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export default function globalSetup(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the runtime tests make real containers and must run as root');
  }
  if (!/^root:\d+:\d+/m.test(readFileSync('/etc/subuid', 'utf8'))) {
    throw new Error('root has no subordinate uid range in /etc/subuid (the README says how to add one)');
  }
  const root = join(__dirname, '..', '..');
  execFileSync('bash', [join(root, 'scripts', 'build-test-image.sh')], { stdio: 'inherit', cwd: root });
}
