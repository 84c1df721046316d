/**
 * The files record-output leaves in an instance's logs: exec-output/exec_<operation id>.stdout
 * and .stderr, read back through /1.0/instances/{name}/logs/exec-output/<file>.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { InvalidArgumentError, NotFoundError } from '@lodge/common';
import { InstancesService } from '@lodge/instance';
import { ENGINE_OPTIONS, EngineOptions } from '../engine/engine.module';

const OUTPUT_FILE = /^exec_[0-9a-f-]{1,64}\.(stdout|stderr)$/;

@Injectable()
export class ExecOutputLogs {
  constructor(
    private readonly instances: InstancesService,
    @Inject(ENGINE_OPTIONS) private readonly engine: EngineOptions,
  ) {}

  /** Streams the file as LXD's FileResponse does. */
  async send(name: string, file: string, res: Response): Promise<void> {
    const path = await this.existing(name, file);
    const size = (await stat(path)).size;
    res.status(200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', size);
    res.setHeader('Content-Disposition', `inline;filename=${file}`);
    await pipeline(createReadStream(path, { start: 0, end: Math.max(0, size - 1) }), res);
  }

  async remove(name: string, file: string): Promise<void> {
    await rm(await this.existing(name, file));
  }

  private async existing(name: string, file: string): Promise<string> {
    await this.instances.get(name);
    if (!OUTPUT_FILE.test(file)) throw new InvalidArgumentError(`Invalid log file name "${file}"`);
    const path = join(this.engine.dir, 'logs', name, 'exec-output', file);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch {
      // missing: below
    }
    throw new NotFoundError('Log file not found');
  }
}
