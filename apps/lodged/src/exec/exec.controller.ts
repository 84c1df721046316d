/**
 * POST /1.0/instances/{name}/exec (and /1.0/containers/...), and the recorded output it leaves
 * under /logs/exec-output/ (GET, DELETE).
 */
import { Body, Controller, Delete, Get, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { async, emptySync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { parseExecRequest } from './exec-request';
import { ExecOutputLogs } from './exec-output-logs';
import { ExecService } from './exec.service';

@Controller(['1.0/instances/:name', '1.0/containers/:name'])
export class ExecController {
  constructor(
    private readonly exec: ExecService,
    private readonly outputs: ExecOutputLogs,
  ) {}

  @Post('exec')
  async run(@Param('name') name: string, @Body() body: unknown, @Query('project') project: unknown) {
    const p = resolveProject(project);
    const op = await this.exec.exec(name, parseExecRequest(body), p);
    return async(op.render());
  }

  @Get('logs/exec-output/:file')
  async read(@Param('name') name: string, @Param('file') file: string, @Query('project') project: unknown, @Res() res: Response) {
    resolveProject(project);
    await this.outputs.send(name, file, res);
  }

  @Delete('logs/exec-output/:file')
  async remove(@Param('name') name: string, @Param('file') file: string, @Query('project') project: unknown) {
    resolveProject(project);
    await this.outputs.remove(name, file);
    return emptySync();
  }
}
