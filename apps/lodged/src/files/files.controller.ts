/**
 * /1.0/instances/{name}/files?path=... (and /1.0/containers/...): GET, POST, DELETE as LXD 5.0
 * serves them. The request body of a POST is read as a stream straight into the file.
 */
import type { IncomingMessage } from 'node:http';
import { Controller, Delete, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { syncEnvelope } from '@lodge/api-types';
import { InvalidArgumentError } from '@lodge/common';
import { emptySync } from '../http/lxd-response';
import { resolveProject } from '../http/project';
import { formatMode, parseFileWriteHeaders } from './file-headers';
import { FileRead, InstanceFilesService } from './instance-files.service';

@Controller(['1.0/instances/:name/files', '1.0/containers/:name/files'])
export class FilesController {
  constructor(private readonly files: InstanceFilesService) {}

  @Get()
  async get(@Param('name') name: string, @Query('path') path: unknown, @Query('project') project: unknown, @Res() res: Response): Promise<void> {
    resolveProject(project);
    await this.files.read(name, pathOf(path), (found) => send(res, found));
    // ended only now: a stopped instance's volume is unmounted once the reply is complete
    res.end();
  }

  @Post()
  async post(@Param('name') name: string, @Query('path') path: unknown, @Query('project') project: unknown, @Req() req: IncomingMessage) {
    resolveProject(project);
    const p = pathOf(path);
    await this.files.write(name, p, parseFileWriteHeaders(req.headers), req);
    return emptySync();
  }

  @Delete()
  async remove(@Param('name') name: string, @Query('path') path: unknown, @Query('project') project: unknown) {
    resolveProject(project);
    await this.files.remove(name, pathOf(path));
    return emptySync();
  }
}

function pathOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError('Missing path argument');
  return value;
}

/**
 * LXD's reply: X-LXD-* headers, then raw bytes (file, symlink target) or the entry list as a sync
 * response (directory). The caller ends the response.
 */
async function send(res: Response, found: FileRead): Promise<void> {
  res.status(200);
  res.setHeader('X-LXD-uid', String(found.uid));
  res.setHeader('X-LXD-gid', String(found.gid));
  res.setHeader('X-LXD-mode', formatMode(found.mode));
  res.setHeader('X-LXD-type', found.type);
  if (found.type === 'directory') {
    res.setHeader('Content-Type', 'application/json');
    res.write(JSON.stringify(syncEnvelope(found.entries)) + '\n');
    return;
  }
  res.setHeader('Content-Type', 'application/octet-stream');
  if (found.type === 'symlink') {
    res.write(found.target);
    return;
  }
  const content = found.content;
  await new Promise<void>((resolve, reject) => {
    content.once('end', resolve);
    content.once('error', reject);
    content.pipe(res, { end: false });
  });
}
