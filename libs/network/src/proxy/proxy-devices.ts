/**
 * The proxy devices of running instances: one forwarder per device, started when the instance
 * starts (or when the device is added to it while it runs, or when the daemon starts again and
 * re-adopts it), closed when it stops or the device goes.
 */
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { DeviceConfig, Devices } from '@lodge/config';
import { InvalidArgumentError } from '@lodge/common';
import { NetworkNamespaceRef } from './netns-socket';
import { ProxyForwarder } from './proxy-forwarder';

const proxiesOf = (devices: Readonly<Devices>): [string, DeviceConfig][] =>
  Object.entries(devices)
    .filter(([, d]) => d.type === 'proxy')
    .sort(([a], [b]) => a.localeCompare(b));

@Injectable()
export class ProxyDevices implements OnApplicationShutdown {
  /** instance -> device -> its forwarder */
  private readonly running = new Map<string, Map<string, ProxyForwarder>>();

  /** Starts every proxy device of an instance whose init is `pid`; all or none. */
  async startAll(instance: string, devices: Readonly<Devices>, pid: number): Promise<void> {
    const started: string[] = [];
    try {
      for (const [name, device] of proxiesOf(devices)) {
        await this.start(instance, name, device, pid);
        started.push(name);
      }
    } catch (err) {
      for (const name of started) this.stop(instance, name);
      throw err;
    }
  }

  /** Starts one proxy device (also on a running instance: hot-plug). */
  async start(instance: string, device: string, config: DeviceConfig, pid: number): Promise<void> {
    if (this.running.get(instance)?.has(device)) throw new InvalidArgumentError(`Proxy device "${device}" is already running`);
    let forwarder: ProxyForwarder;
    try {
      forwarder = await ProxyForwarder.start({ listen: config.listen, connect: config.connect }, NetworkNamespaceRef.ofProcess(pid));
    } catch (err) {
      throw new InvalidArgumentError(`Failed to start device "${device}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    let forInstance = this.running.get(instance);
    if (!forInstance) this.running.set(instance, (forInstance = new Map()));
    forInstance.set(device, forwarder);
  }

  /** Stops one proxy device; a device that is not running is fine. */
  stop(instance: string, device: string): void {
    const forInstance = this.running.get(instance);
    forInstance?.get(device)?.close();
    forInstance?.delete(device);
    if (forInstance?.size === 0) this.running.delete(instance);
  }

  /** Stops every proxy device of an instance (it stopped). */
  stopAll(instance: string): void {
    for (const device of [...(this.running.get(instance)?.keys() ?? [])]) this.stop(instance, device);
  }

  /** Devices running for an instance, by name. */
  runningDevices(instance: string): string[] {
    return [...(this.running.get(instance)?.keys() ?? [])].sort();
  }

  onApplicationShutdown(): void {
    for (const instance of [...this.running.keys()]) this.stopAll(instance);
  }
}
