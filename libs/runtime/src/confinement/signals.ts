import { constants } from 'node:os';
import { InvalidArgumentError } from '@lodge/common';

/** glibc's SIGRTMIN inside the container (the kernel's 32 and 33 are taken by glibc). */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * Signal number from a name: "SIGUSR2", "USR2", "SIGRTMIN+3" (systemd's halt), "SIGPWR", or a
 * number. The halt signal is per image: busybox init halts on SIGUSR2, systemd on SIGRTMIN+3,
 * LXD's default is SIGPWR.
 */
export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && signal >= 1 && signal <= SIGRTMAX) return signal;
    throw new InvalidArgumentError(`invalid signal ${signal}`);
  }
  const name = signal.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(name)) return signalNumber(Number(name));
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) {
    const n = SIGRTMIN + Number(rt[1] ?? 0);
    if (n <= SIGRTMAX) return n;
  }
  const rtmax = /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rtmax) {
    const n = SIGRTMAX - Number(rtmax[1] ?? 0);
    if (n >= SIGRTMIN) return n;
  }
  const n = (constants.signals as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw new InvalidArgumentError(`unknown signal "${signal}"`);
  return n;
}

export const SIGKILL = constants.signals.SIGKILL;
/** Exit signals of a pid namespace's init after reboot(2) inside it. */
export const REBOOT_SIGNAL = constants.signals.SIGHUP;
export const HALT_SIGNAL = constants.signals.SIGINT;
