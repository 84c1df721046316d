/**
 * A RabbitMQ node of one test file's own, for tests that restart or kill the broker: the
 * machine's shared RabbitMQ serves other test files at the same time and must never go down.
 *
 * The node runs as root from Debian's rabbitmq-server scripts with everything in a temp dir: its
 * node name, AMQP port and distribution port (free ports on 127.0.0.1), mnesia, logs, config,
 * an empty plugin list (no management listener to collide with) and an Erlang cookie of its own
 * (HOME points at the temp dir for the server and for rabbitmqctl alike, so the shared node's
 * cookie in /var/lib/rabbitmq is neither needed nor touched). It registers with the machine's
 * epmd like any other Erlang node. guest may log in over loopback, RabbitMQ's default.
 *
 * close() kills the node by its PID and removes the temp dir, also after a failed test.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

/** The scripts themselves: /usr/sbin's wrappers would switch to the rabbitmq user and its HOME. */
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

export interface PrivateRabbit {
  node: string;
  port: number;
  dir: string;
  /** `rabbitmqctl -q -n <node> …` */
  ctl(...args: string[]): Promise<string>;
  /** oslo transport URL for a vhost on this node */
  url(vhost: string): string;
  /** `stop_app`: the broker closes every connection and forgets transient queues and exchanges */
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /** kills the Erlang VM (SIGKILL): clients see their sockets reset, nothing is closed cleanly */
  kill(): Promise<void>;
  /** starts the node again on the same ports and data dir (after kill) */
  start(): Promise<void>;
  /** names of the queues in `vhost` */
  queues(vhost: string): Promise<Array<{ name: string; messages: number; consumers: number }>>;
  close(): Promise<void>;
}

export async function startPrivateRabbit(label: string): Promise<PrivateRabbit> {
  const dir = mkdtempSync(join(tmpdir(), `lodge-rabbit-${label}-`));
  const node = `lodge-test-${label}-${process.pid}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  writeFileSync(join(dir, '.erlang.cookie'), randomBytes(20).toString('hex'));
  chmodSync(join(dir, '.erlang.cookie'), 0o400);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users.guest = true\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/sbin:/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    // the machine's /etc/rabbitmq/rabbitmq-env.conf names the shared node: not read
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    RABBITMQ_GENERATED_CONFIG_DIR: join(dir, 'generated'),
    RABBITMQ_SCHEMA_DIR: join(dir, 'schema'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // Erlang distribution (rabbitmqctl's way in) on loopback only
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let server: ChildProcess | undefined;
  let output = '';

  const ctl = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(join(RABBIT_BIN, 'rabbitmqctl'), ['-q', '-n', node, ...args], { env, encoding: 'utf8', timeout: 60_000 });
      return stdout;
    } catch (err) {
      throw new Error(`rabbitmqctl ${args.join(' ')} on ${node}: ${(err as Error).message}\n${output.slice(-2000)}`);
    }
  };
  /** The beam.smp's own PID: the rabbitmq-server script runs it as a child of a shell. */
  const vmPid = async () => Number(JSON.parse((await ctl('eval', 'os:getpid().')).trim()));

  const start = async () => {
    const proc = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server = proc;
    const collect = (d: Buffer) => {
      output += d.toString();
      if (output.length > 100_000) output = output.slice(-50_000);
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`rabbitmq-server ${node} exited (${code}) while starting:\n${output.slice(-4000)}`))));
    exited.catch(() => undefined);
    await Promise.race([awaitStartup(), exited]);
  };

  /** await_startup fails at once until the VM has registered with epmd: asked again until then. */
  const awaitStartup = async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await ctl('await_startup', '--timeout', '120');
        return;
      } catch (err) {
        if (Date.now() > deadline || !server || server.exitCode !== null) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  const kill = async () => {
    const proc = server;
    if (!proc || proc.exitCode !== null) return;
    const pid = await vmPid().catch(() => undefined);
    const gone = new Promise((r) => proc.once('exit', r));
    // The shell script waits for the VM and exits with it; SIGKILL to the VM is the crash.
    if (pid) process.kill(pid, 'SIGKILL');
    else proc.kill('SIGKILL');
    await gone;
    server = undefined;
  };

  const close = async () => {
    try {
      if (server && server.exitCode === null) {
        // a clean stop first (the VM exits, then the script); a kill when it does not answer
        const proc = server;
        const gone = new Promise((r) => proc.once('exit', r));
        const pid = await vmPid().catch(() => undefined);
        if (pid) {
          process.kill(pid, 'SIGTERM');
          const t = setTimeout(() => process.kill(pid, 'SIGKILL'), 15_000);
          await gone;
          clearTimeout(t);
        } else {
          proc.kill('SIGKILL');
          await gone;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await start();
  } catch (err) {
    if (server && server.exitCode === null) await kill().catch(() => server?.kill('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    node,
    port,
    dir,
    ctl,
    url: (vhost) => `rabbit://guest:guest@127.0.0.1:${port}/${encodeURIComponent(vhost)}`,
    stopApp: async () => void (await ctl('stop_app')),
    startApp: async () => {
      await ctl('start_app');
      await ctl('await_startup', '--timeout', '120');
    },
    kill,
    start,
    async queues(vhost) {
      const out = await ctl('list_queues', '-p', vhost, '--no-table-headers', 'name', 'messages', 'consumers');
      return out
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length === 3)
        .map(([name, messages, consumers]) => ({ name, messages: Number(messages), consumers: Number(consumers) }));
    },
    close,
  };
}
