import { Module } from '@nestjs/common';
import { ExecOutputLogs } from './exec-output-logs';
import { ExecController } from './exec.controller';
import { ExecService } from './exec.service';

/** /1.0/instances/{name}/exec: websockets per fd, control channel, record-output. */
@Module({ controllers: [ExecController], providers: [ExecService, ExecOutputLogs] })
export class ExecApiModule {}
