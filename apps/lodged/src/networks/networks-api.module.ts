import { Module } from '@nestjs/common';
import { NetworksApiService } from './networks-api.service';
import { NetworksController } from './networks.controller';

/** /1.0/networks. */
@Module({ controllers: [NetworksController], providers: [NetworksApiService] })
export class NetworksApiModule {}
