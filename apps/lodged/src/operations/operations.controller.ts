import { Controller, Delete, Get, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Operation, operationUrl } from '@lodge/api-types';
import { InvalidArgumentError } from '@lodge/common';
import { emptySync, sync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseRecursion } from '../http/recursion';
import { OperationsService } from './operations.service';

@Controller('1.0/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  /** Map keyed by lower-case status; only statuses that have operations appear (as LXD). */
  @Get()
  list(@Query('recursion') recursion: unknown, @Query('project') project: unknown) {
    const effective = resolveProject(project);
    const full = parseRecursion(recursion) > 0;
    const out: Record<string, Array<string | Operation>> = {};
    for (const op of this.operations.list(effective)) {
      const rendered = op.render();
      const key = rendered.status.toLowerCase();
      (out[key] ??= []).push(full ? rendered : operationUrl(op.id));
    }
    return sync(out);
  }

  @Get(':id')
  get(@Param('id') id: string, @Query('project') project: unknown) {
    resolveProject(project);
    return sync(this.operations.get(id).render());
  }

  /** Long-poll: `timeout` in seconds, -1 (default) = until final. On timeout the current state is returned. */
  @Get(':id/wait')
  async wait(@Param('id') id: string, @Query('timeout') timeout: unknown, @Query('project') project: unknown, @Req() req: Request) {
    resolveProject(project);
    const op = this.operations.get(id);
    const seconds = parseTimeout(timeout);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    req.socket.once('close', onClose);
    try {
      await op.wait(seconds < 0 ? -1 : seconds * 1000, gone.signal);
    } finally {
      req.socket.off('close', onClose);
    }
    return sync(op.render());
  }

  @Delete(':id')
  async cancel(@Param('id') id: string, @Query('project') project: unknown) {
    resolveProject(project);
    await this.operations.get(id).cancel();
    return emptySync();
  }
}

function parseTimeout(value: unknown): number {
  if (value === undefined || value === '') return -1;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n)) throw new InvalidArgumentError(`Invalid timeout: ${String(value)}`);
  return n;
}
