/**
 * Finding, checking and ending a dnsmasq by PID. dnsmasq runs as a daemon of its own (it outlives
 * Lodge's daemon, as containers do), so it is not our child: it is recognised by its pid file and
 * its /proc entry (the dnsmasq binary, started with our pid file and our bridge), and its start
 * time guards every signal against a reused PID.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

export interface DnsmasqProcess {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot) */
  startTime: string;
}

/** Start time of a live process, or undefined when there is none with this PID. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields follow the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * The dnsmasq serving `bridge` with `pidFile`, when the pid file names a live process that is
 * dnsmasq started with exactly that pid file and interface; undefined otherwise.
 */
export async function findDnsmasq(pidFile: string, bridge: string): Promise<DnsmasqProcess | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  const startTime = await processStartTime(pid);
  if (startTime === undefined) return undefined;
  let argv: string[];
  try {
    argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return undefined;
  }
  const ours = basename(argv[0] ?? '') === 'dnsmasq' && argv.includes(`--pid-file=${pidFile}`) && argv.includes(`--interface=${bridge}`);
  // read again: the PID may have been reused between the reads
  return ours && (await processStartTime(pid)) === startTime ? { pid, startTime } : undefined;
}

/** Sends `signal` unless the PID now belongs to another process; false when it is gone. */
export async function signalProcess(p: DnsmasqProcess, signal: NodeJS.Signals): Promise<boolean> {
  if ((await processStartTime(p.pid)) !== p.startTime) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while the process runs: not gone, not a zombie awaiting its reaper, PID not reused. */
export async function processRunning(p: DnsmasqProcess): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${p.pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] === p.startTime && fields[0] !== 'Z';
}

/** Waits until the process has ended (or its PID was reused); false after `timeoutMs`. */
export async function waitForExit(p: DnsmasqProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await processRunning(p)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
