import type { InstanceStatusName } from '@lodge/instance';

/** nova/compute/power_state.py */
export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;
export type PowerStateCode = (typeof PowerState)[keyof typeof PowerState];

/** The names Diagnostics.state uses (InstancePowerStateField), by code. */
const POWER_STATE_NAMES: Record<number, string> = { 0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' };

export function powerStateName(code: PowerStateCode): string {
  return POWER_STATE_NAMES[code];
}

/**
 * A container's nova power state. Pause and suspend both freeze the container, so a frozen one
 * is SUSPENDED when nova suspended it and PAUSED otherwise (nova-lxd reported every frozen
 * container as SUSPENDED, and nova's power sync then saw paused instances as suspended).
 */
export function powerStateOf(status: InstanceStatusName | 'Missing', vmState: string | null): PowerStateCode {
  switch (status) {
    case 'Running':
      return PowerState.RUNNING;
    case 'Stopped':
      return PowerState.SHUTDOWN;
    case 'Frozen':
      return vmState === 'suspended' ? PowerState.SUSPENDED : PowerState.PAUSED;
    default:
      return PowerState.NOSTATE;
  }
}
