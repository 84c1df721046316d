import 'reflect-metadata';
import { promises as fs } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamicModule, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConflictError } from '@lodge/common';
import { DaemonOptions, DEFAULT_JSON_BODY_LIMIT } from './daemon-options';
import { UpgradeRouter } from './events/upgrade-router';
import { LxdExpressAdapter } from './http/lxd-express.adapter';
import { LodgedModule } from './lodged.module';
import { connectNova, NovaModule } from './nova/nova.module';
import { loadOrCreateServerCertificate } from './server/certificate';
import { readHostFacts } from './server/host-facts';
import { HttpsListenerService } from './server/https-listener.service';

export interface DaemonHandle {
  readonly dir: string;
  readonly socketPath: string;
  readonly app: INestApplication;
  /** Stops listening, closes websockets and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts lodged on `<dir>/unix.socket` (mode 0660, group root), and on HTTPS when the stored
 * core.https_address says so. A stale socket is removed; if another daemon answers on it, start is
 * refused. Used by main.ts and by the tests.
 */
export async function startDaemon(options: DaemonOptions): Promise<DaemonHandle> {
  const dir = resolve(options.dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  const socketPath = join(dir, 'unix.socket');
  await clearStaleSocket(socketPath);

  const certificate = await loadOrCreateServerCertificate(dir);
  const core = LodgedModule.forRoot({ options: { ...options, dir }, certificate, host: readHostFacts() });
  const extra = options.nova ? [NovaModule.forRoot(options.nova)] : [];
  const root: DynamicModule = { module: LodgedRootModule, imports: [core, ...(options.modules ?? []), ...extra] };
  const app = await NestFactory.create<NestExpressApplication>(
    root,
    new LxdExpressAdapter(),
    { bodyParser: false, logger: options.logger ? undefined : false },
  );
  // JSON bodies of any content type the LXD clients send; everything else (file and image
  // uploads, later) stays a raw stream for its handler.
  app.useBodyParser('json', { limit: options.jsonBodyLimit ?? DEFAULT_JSON_BODY_LIMIT, strict: false, type: ['application/json', 'application/*+json'] });
  app.set('etag', false);
  app.set('x-powered-by', false);

  const router = app.get(UpgradeRouter);
  router.attach(app.getHttpServer() as Server);

  try {
    if (options.nova) await connectNova(app, options.nova);
    await app.listen(socketPath);
    await fs.chmod(socketPath, 0o660);
    if (process.getuid?.() === 0) await fs.chown(socketPath, 0, 0);
    await app.get(HttpsListenerService).startFromConfig();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    dir,
    socketPath,
    app,
    close: () =>
      (closing ??= (async () => {
        router.close();
        const server = app.getHttpServer() as Server;
        server.closeAllConnections?.();
        await app.close();
        await fs.rm(socketPath, { force: true });
      })()),
  };
}

/** Root of the application: the REST core plus the optional extra modules. */
@Module({})
class LodgedRootModule {}

/** Removes a socket nobody answers on; refuses when a daemon is listening. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  try {
    await fs.lstat(socketPath);
  } catch {
    return;
  }
  const alive = await new Promise<boolean>((resolveAlive) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolveAlive(true);
    });
    s.once('error', () => resolveAlive(false));
  });
  if (alive) throw new ConflictError(`Another daemon is already running on ${socketPath}`);
  await fs.rm(socketPath, { force: true });
}
