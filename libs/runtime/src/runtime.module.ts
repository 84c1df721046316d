import { DynamicModule, Module } from '@nestjs/common';
import { RUNTIME_OPTIONS, RuntimeOptions, RuntimeService } from './runtime.service';

@Module({ providers: [RuntimeService], exports: [RuntimeService] })
export class RuntimeModule {
  static forRoot(options: RuntimeOptions = {}): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [{ provide: RUNTIME_OPTIONS, useValue: options }, RuntimeService],
      exports: [RuntimeService],
    };
  }
}
