import { Module } from '@nestjs/common';
import { ProfilesController } from './profiles.controller';
import { ProfilesService } from './profiles.service';

/** /1.0/profiles. */
@Module({ controllers: [ProfilesController], providers: [ProfilesService] })
export class ProfilesApiModule {}
