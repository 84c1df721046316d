/** Entry point of the `lodge` CLI (bin/lodge.js). */
import { run } from './program';

run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signals: process }).then(
  (code) => {
    // stdout may still be flushing into a pipe: exit once it is drained
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
