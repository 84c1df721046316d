import { Controller, UseFilters } from '@nestjs/common';
import { BuildArgs, ComputeManager, OsloExceptionFilter, OsloMethod, OsloRequest } from '@lodge/nova';

const INSTANCE = ['instance'] as const;

/**
 * nova's compute RPC API 6.x (the ComputeManager endpoint: no namespace), translated to the
 * compute use cases. The argument lists are the keyword arguments nova 26 sends; a call that
 * does not fit them fails as Python would (TypeError), before anything runs.
 */
// errors pass through untouched to the server's one failure mapping
@UseFilters(OsloExceptionFilter)
@Controller()
export class ComputeRpcController {
  constructor(private readonly compute: ComputeManager) {}

  @OsloMethod(null, 'build_and_run_instance', {
    required: ['instance', 'image', 'request_spec', 'filter_properties'],
    optional: ['admin_password', 'injected_files', 'requested_networks', 'security_groups', 'block_device_mapping', 'node', 'limits', 'host_list', 'accel_uuids'],
  })
  build(req: OsloRequest): Promise<void> {
    return this.compute.buildAndRunInstance(req.context, req.args as unknown as BuildArgs);
  }

  @OsloMethod(null, 'terminate_instance', { required: ['instance', 'bdms'] })
  terminate(req: OsloRequest<{ instance: unknown; bdms: unknown }>): Promise<void> {
    return this.compute.terminateInstance(req.context, req.args);
  }

  @OsloMethod(null, 'stop_instance', { required: INSTANCE, optional: ['clean_shutdown'] })
  stop(req: OsloRequest<{ instance: unknown; clean_shutdown?: unknown }>): Promise<void> {
    return this.compute.stopInstance(req.context, req.args);
  }

  @OsloMethod(null, 'start_instance', { required: INSTANCE })
  start(req: OsloRequest<{ instance: unknown }>): Promise<void> {
    return this.compute.startInstance(req.context, req.args);
  }

  @OsloMethod(null, 'reboot_instance', { required: ['instance', 'block_device_info', 'reboot_type'] })
  reboot(req: OsloRequest<{ instance: unknown; reboot_type: unknown }>): Promise<void> {
    return this.compute.rebootInstance(req.context, req.args);
  }

  @OsloMethod(null, 'pause_instance', { required: INSTANCE })
  pause(req: OsloRequest<{ instance: unknown }>): Promise<void> {
    return this.compute.pauseInstance(req.context, req.args);
  }

  @OsloMethod(null, 'unpause_instance', { required: INSTANCE })
  unpause(req: OsloRequest<{ instance: unknown }>): Promise<void> {
    return this.compute.unpauseInstance(req.context, req.args);
  }

  @OsloMethod(null, 'suspend_instance', { required: INSTANCE })
  suspend(req: OsloRequest<{ instance: unknown }>): Promise<void> {
    return this.compute.suspendInstance(req.context, req.args);
  }

  @OsloMethod(null, 'resume_instance', { required: INSTANCE })
  resume(req: OsloRequest<{ instance: unknown }>): Promise<void> {
    return this.compute.resumeInstance(req.context, req.args);
  }

  @OsloMethod(null, 'get_console_output', { required: ['instance', 'tail_length'] })
  consoleOutput(req: OsloRequest<{ instance: unknown; tail_length: unknown }>): Promise<string> {
    return this.compute.getConsoleOutput(req.context, req.args);
  }

  @OsloMethod(null, 'get_host_uptime', { required: [] })
  hostUptime(): Promise<string> {
    return this.compute.getHostUptime();
  }

  @OsloMethod(null, 'get_instance_diagnostics', { required: INSTANCE })
  diagnostics(req: OsloRequest<{ instance: unknown }>): Promise<Record<string, unknown>> {
    return this.compute.getInstanceDiagnostics(req.context, req.args);
  }

  @OsloMethod(null, 'external_instance_event', { required: ['instances', 'events'] })
  externalEvent(req: OsloRequest<{ instances: unknown; events: unknown }>): void {
    this.compute.externalInstanceEvent(req.context, req.args);
  }
}
