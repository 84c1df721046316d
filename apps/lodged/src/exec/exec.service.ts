/**
 * Runs a command in a running instance as LXD's POST .../exec does: with wait-for-websocket a
 * websocket operation that starts the command once its sockets are connected; without, a task
 * operation whose output is dropped or, with record-output, written to the instance's logs
 * (exec-output/exec_<operation id>.stdout/.stderr). The operation ends Success with
 * metadata.return = the exit code (128 + N for a signal).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { InvalidArgumentError } from '@lodge/common';
import { InstancesService } from '@lodge/instance';
import { ExecExit, ExecProcess, RuntimeService } from '@lodge/runtime';
import { ENGINE_OPTIONS, EngineOptions } from '../engine/engine.module';
import { instanceResources, instanceUrl } from '../instances/instance-view';
import { LodgeOperation } from '../operations/operation';
import { OperationsService } from '../operations/operations.service';
import { execCwd, execEnvironment, ExecRequest } from './exec-request';
import { ExecWebsockets } from './exec-websockets';

/**
 * After the command has exited, how long its output may still flow: a process it left in the
 * background can hold the pipes (or the pty) open for ever, and the client waits for their end.
 */
const OUTPUT_GRACE_MS = 2_000;

/** The shell's conventions LXD follows for a command that cannot be run. */
const NOT_FOUND = 127;
const NOT_EXECUTABLE = 126;

@Injectable()
export class ExecService {
  constructor(
    private readonly instances: InstancesService,
    private readonly runtime: RuntimeService,
    private readonly operations: OperationsService,
    @Inject(ENGINE_OPTIONS) private readonly engine: EngineOptions,
  ) {}

  /** Checks the instance and starts the operation (everything is refused before it exists). */
  async exec(name: string, req: ExecRequest, project: string): Promise<LodgeOperation> {
    const { expanded, status } = await this.instances.getExpanded(name);
    if (status === 'Stopped') throw new InvalidArgumentError('Instance is not running');
    if (status === 'Frozen') throw new InvalidArgumentError('Instance is frozen');
    const env = execEnvironment(expanded.expanded_config, req);
    const start = () => {
      const container = this.runtime.get(name);
      if (!container) throw new InvalidArgumentError('Instance is not running');
      return container.exec({
        argv: req.command,
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        cwd: execCwd(req, env),
        uid: req.user,
        gid: req.group,
        pty: req.interactive ? { rows: req.height || 24, cols: req.width || 80 } : undefined,
      });
    };
    const base = { description: 'Executing command', project, resources: instanceResources([name]) };
    if (req.waitForWebsocket) {
      const sockets = new ExecWebsockets(req.interactive);
      return this.operations.createAndStart({
        ...base,
        class: 'websocket',
        metadata: { fds: { ...sockets.fds } },
        connect: (secret) => sockets.connect(secret),
        run: async ({ signal }) => {
          try {
            await sockets.waitForClients(signal);
            const proc = await startOrExit(start);
            if (typeof proc === 'number') return { return: proc };
            const stop = () => proc.signal(9);
            signal.addEventListener('abort', stop, { once: true });
            const exit = await untilOutputEnds(proc, sockets.pump(proc));
            return { return: returnCode(exit) };
          } finally {
            sockets.close();
          }
        },
      });
    }
    return this.operations.createAndStart({
      ...base,
      class: 'task',
      run: async ({ operation, signal }) => {
        const proc = await startOrExit(start);
        if (typeof proc === 'number') return { return: proc };
        signal.addEventListener('abort', () => proc.signal(9), { once: true });
        proc.stdin!.end();
        if (!req.recordOutput) {
          proc.stdout!.resume();
          proc.stderr!.resume();
          return { return: returnCode(await untilOutputEnds(proc, Promise.resolve())) };
        }
        const dir = join(this.engine.dir, 'logs', name, 'exec-output');
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const file = (fd: 'stdout' | 'stderr') => `exec_${operation.id}.${fd}`;
        const written = Promise.all([record(proc.stdout!, join(dir, file('stdout'))), record(proc.stderr!, join(dir, file('stderr')))]);
        const exit = await untilOutputEnds(proc, written.then(() => undefined));
        const url = (fd: 'stdout' | 'stderr') => `${instanceUrl(name)}/logs/exec-output/${file(fd)}`;
        return { return: returnCode(exit), output: { '1': url('stdout'), '2': url('stderr') } };
      },
    });
  }
}

/** Starts the command; a command that does not exist or cannot be run is an exit code, as in a shell. */
async function startOrExit(start: () => Promise<ExecProcess>): Promise<ExecProcess | number> {
  try {
    return await start();
  } catch (err) {
    const e = err as { step?: string; code?: string };
    if (e.step?.startsWith('execve')) {
      if (e.code === 'ENOENT') return NOT_FOUND;
      if (e.code === 'EACCES' || e.code === 'ENOEXEC' || e.code === 'EISDIR') return NOT_EXECUTABLE;
    }
    throw err;
  }
}

/** Waits for the exit, then for the output to be delivered (at most OUTPUT_GRACE_MS longer). */
async function untilOutputEnds(proc: ExecProcess, output: Promise<void>): Promise<ExecExit> {
  const exit = await proc.exited;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([output, new Promise((resolve) => (timer = setTimeout(resolve, OUTPUT_GRACE_MS)))]);
  clearTimeout(timer);
  return exit;
}

function record(out: Readable, path: string): Promise<void> {
  return pipeline(out, createWriteStream(path, { mode: 0o600 }));
}

export function returnCode(exit: ExecExit): number {
  return exit.exitCode ?? 128 + (exit.signal ?? 0);
}
