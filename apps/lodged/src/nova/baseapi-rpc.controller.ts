import { Controller, UseFilters } from '@nestjs/common';
import { OsloExceptionFilter, OsloMethod, OsloRequest } from '@lodge/nova';

/** nova's BaseRPCAPI (namespace `baseapi`, 1.1), served by every nova service. */
// errors pass through untouched to the server's one failure mapping
@UseFilters(OsloExceptionFilter)
@Controller()
export class BaseApiRpcController {
  @OsloMethod('baseapi', 'ping', { required: ['arg'] })
  ping(req: OsloRequest<{ arg: unknown }>): { service: string; arg: unknown } {
    return { service: 'compute', arg: req.args.arg };
  }

  @OsloMethod('baseapi', 'get_backdoor_port', { required: [] })
  backdoorPort(): null {
    return null;
  }
}
