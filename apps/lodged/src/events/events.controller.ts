import { Controller, Get } from '@nestjs/common';
import { InvalidArgumentError } from '@lodge/common';

/** GET /1.0/events without an Upgrade header (upgrades are handled by UpgradeRouter). */
@Controller('1.0/events')
export class EventsController {
  @Get()
  plain(): never {
    throw new InvalidArgumentError('This endpoint requires a websocket upgrade');
  }
}
