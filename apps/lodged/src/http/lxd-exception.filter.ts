import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { errorEnvelope } from '@lodge/api-types';
import { mapError } from './error-mapping';
import { writeJson } from './lxd-response';

/** Global filter: every error leaves the REST API as an LXD error envelope (see error-mapping.ts). */
@Catch()
export class LxdExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('lodged');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const mapped = mapError(exception);
    if (mapped.internal) {
      const req = host.switchToHttp().getRequest<{ method?: string; url?: string }>();
      this.logger.error(
        `${req.method} ${req.url}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    writeJson(res, mapped.status, errorEnvelope(mapped.status, mapped.message));
  }
}
