import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest would turn every error from an RPC handler into "Internal server error". This filter
 * passes the error on untouched, so OsloRpcServer maps it (in one place) to the oslo failure
 * nova re-raises as its own exception class.
 */
@Catch()
export class OsloExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
