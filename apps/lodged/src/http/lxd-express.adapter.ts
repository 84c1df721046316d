import { ExpressAdapter } from '@nestjs/platform-express';
import { LxdResponse } from './lxd-response';

/** Express adapter that renders LxdResponse values itself (status, Location, ETag, envelope). */
export class LxdExpressAdapter extends ExpressAdapter {
  override reply(response: any, body: any, statusCode?: number): any {
    if (body instanceof LxdResponse) {
      body.render(response);
      return;
    }
    return super.reply(response, body, statusCode);
  }
}
