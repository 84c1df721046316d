import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { StatusError } from '../http/status-error';
import { TrustService } from './trust.service';

const ALLOW_UNTRUSTED = 'lodge:allow-untrusted';

/**
 * Marks a handler as reachable by untrusted HTTPS clients (LXD's AllowUntrusted): only GET /,
 * GET /1.0 (reduced form) and POST /1.0/certificates. Everything else is trusted-only by default,
 * including routes of modules mounted later.
 */
export const AllowUntrusted = () => SetMetadata(ALLOW_UNTRUSTED, true);

/** LXD's response.Forbidden(nil). */
export class NotAuthorizedError extends StatusError {
  constructor(message = 'not authorized') {
    super(403, message);
    this.name = 'NotAuthorizedError';
  }
}

/** Global guard: untrusted requests reach only @AllowUntrusted handlers; others get 403 "not authorized". */
@Injectable()
export class TrustGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly trust: TrustService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const auth = await this.trust.authenticate(context.switchToHttp().getRequest<IncomingMessage>());
    if (auth.trusted) return true;
    if (this.reflector.getAllAndOverride<boolean>(ALLOW_UNTRUSTED, [context.getHandler(), context.getClass()])) return true;
    throw new NotAuthorizedError();
  }
}
