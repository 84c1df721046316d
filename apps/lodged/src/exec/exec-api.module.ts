import { Module } from '@nestjs/common';

/** /1.0/instances/{name}/exec: websockets per fd, control channel, record-output. */
@Module({ controllers: [], providers: [] })
export class ExecApiModule {}
