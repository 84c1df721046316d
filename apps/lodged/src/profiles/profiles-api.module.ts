import { Module } from '@nestjs/common';

/** /1.0/profiles. */
@Module({ controllers: [], providers: [] })
export class ProfilesApiModule {}
