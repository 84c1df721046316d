/**
 * One dnsmasq per managed bridge. Started as a daemon (dnsmasq forks, and its first process exits
 * only once the server has bound its sockets, with a non-zero status and the reason on stderr
 * when it could not), so it keeps serving leases while Lodge's daemon restarts; a new daemon
 * re-adopts it through the pid file. Reservations are a file dnsmasq re-reads on SIGHUP.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { ConflictError, SystemError } from '@lodge/common';
import { DhcpReservation, normalizeMac, parseDhcpHosts, renderDhcpHosts } from './dhcp-hosts';
import { dnsmasqArgs, dnsmasqFiles, DnsmasqSpec } from './dnsmasq-config';
import { DnsmasqProcess, findDnsmasq, signalProcess, waitForExit } from './dnsmasq-process';
import { DhcpLease, parseLeases } from './leases';

export interface DnsmasqStatus extends DnsmasqProcess {
  /** true when this call found it already running (re-adopted), false when it started it */
  adopted: boolean;
}

export class DnsmasqSupervisor {
  constructor(private readonly options: { binary?: string; stopTimeoutMs?: number } = {}) {}

  /**
   * Makes sure the bridge's dnsmasq runs with `reservations`: re-adopts one that already runs for
   * this bridge and directory (after a daemon restart), else starts it. A running one with other
   * settings is left alone: `restart` applies new settings.
   */
  async start(spec: DnsmasqSpec, reservations: DhcpReservation[] = []): Promise<DnsmasqStatus> {
    const args = dnsmasqArgs(spec); // validation before anything is written or started
    const files = dnsmasqFiles(spec.dir);
    await mkdir(spec.dir, { recursive: true });
    // dnsmasq re-reads the hosts file as its unprivileged user on SIGHUP
    await chmod(spec.dir, 0o755);
    const running = await findDnsmasq(files.pidFile, spec.bridge);
    await this.writeHosts(spec, reservations);
    if (running) {
      await signalProcess(running, 'SIGHUP');
      return { ...running, adopted: true };
    }
    await rm(files.pidFile, { force: true });
    await this.launch(args);
    const started = await findDnsmasq(files.pidFile, spec.bridge);
    if (!started) throw new SystemError('dnsmasq', 'ESRCH', `dnsmasq for ${spec.bridge} exited right after starting`);
    return { ...started, adopted: false };
  }

  /** The running dnsmasq of the bridge, or undefined. */
  find(spec: Pick<DnsmasqSpec, 'bridge' | 'dir'>): Promise<DnsmasqProcess | undefined> {
    return findDnsmasq(dnsmasqFiles(spec.dir).pidFile, spec.bridge);
  }

  /** Stops the bridge's dnsmasq (SIGTERM, then SIGKILL after the timeout); false when none ran. */
  async stop(spec: Pick<DnsmasqSpec, 'bridge' | 'dir'>): Promise<boolean> {
    const files = dnsmasqFiles(spec.dir);
    const p = await findDnsmasq(files.pidFile, spec.bridge);
    if (!p) return false;
    if (await signalProcess(p, 'SIGTERM')) {
      if (!(await waitForExit(p, this.options.stopTimeoutMs ?? 5000))) {
        await signalProcess(p, 'SIGKILL');
        await waitForExit(p, 2000);
      }
    }
    await rm(files.pidFile, { force: true });
    return true;
  }

  async restart(spec: DnsmasqSpec, reservations: DhcpReservation[] = []): Promise<DnsmasqStatus> {
    dnsmasqArgs(spec);
    await this.stop(spec);
    return this.start(spec, reservations);
  }

  /** Replaces the reservations and has dnsmasq re-read them. */
  async setReservations(spec: Pick<DnsmasqSpec, 'bridge' | 'dir'>, reservations: DhcpReservation[]): Promise<void> {
    await this.writeHosts(spec, reservations);
    const p = await this.find(spec);
    if (p) await signalProcess(p, 'SIGHUP');
  }

  async reservations(spec: Pick<DnsmasqSpec, 'dir'>): Promise<DhcpReservation[]> {
    return parseDhcpHosts(await readOptional(dnsmasqFiles(spec.dir).hostsFile));
  }

  /** Adds (or replaces, by MAC) one reservation. */
  async addReservation(spec: Pick<DnsmasqSpec, 'bridge' | 'dir'>, r: DhcpReservation): Promise<void> {
    const mac = normalizeMac(r.hwaddr);
    const current = (await this.reservations(spec)).filter((x) => x.hwaddr !== mac);
    if (r.ipv4 && current.some((x) => x.ipv4 === r.ipv4)) {
      throw new ConflictError(`IP address "${r.ipv4}" is already reserved on the network`);
    }
    await this.setReservations(spec, [...current, { ...r, hwaddr: mac }]);
  }

  /** Removes the reservation of a MAC; false when there was none. */
  async removeReservation(spec: Pick<DnsmasqSpec, 'bridge' | 'dir'>, hwaddr: string): Promise<boolean> {
    const mac = normalizeMac(hwaddr);
    const current = await this.reservations(spec);
    const rest = current.filter((x) => x.hwaddr !== mac);
    if (rest.length === current.length) return false;
    await this.setReservations(spec, rest);
    return true;
  }

  /** The leases dnsmasq has handed out on the bridge. */
  async leases(spec: Pick<DnsmasqSpec, 'dir'>): Promise<DhcpLease[]> {
    return parseLeases(await readOptional(dnsmasqFiles(spec.dir).leaseFile));
  }

  /** Written whole to a temporary name and renamed, so dnsmasq never reads half a file. */
  private async writeHosts(spec: Pick<DnsmasqSpec, 'dir'>, reservations: DhcpReservation[]): Promise<void> {
    const { hostsFile } = dnsmasqFiles(spec.dir);
    const tmp = `${hostsFile}.tmp`;
    await writeFile(tmp, renderDhcpHosts(reservations), { mode: 0o644 });
    await rename(tmp, hostsFile);
  }

  private launch(args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.binary ?? 'dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(new SystemError('dnsmasq', (err as NodeJS.ErrnoException).code ?? 'EIO', err.message, { cause: err })));
      // 'exit', not 'close': the forked server must not be awaited for closing inherited pipes
      child.on('exit', (code, signal) => {
        if (code === 0) {
          child.stderr!.destroy();
          resolve();
          return;
        }
        // nothing forked on failure, so the pipe ends and the reason is complete
        const fail = () => reject(new SystemError('dnsmasq', code !== null ? `exit ${code}` : String(signal), stderr.trim()));
        if (child.stderr!.readableEnded) fail();
        else child.stderr!.once('close', fail);
      });
    });
  }
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
