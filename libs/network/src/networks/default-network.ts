/**
 * The daemon's first start makes a managed bridge and puts an `eth0` NIC on it in the `default`
 * profile, as `lxd init` does, so `launch` gives a networked machine. Done once (a marker file
 * in the networks directory records it); a daemon told not to skips it.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@lodge/common';
import { ProfilesRepository } from '@lodge/state';
import type { NetworksService } from './networks.service';

export interface DefaultNetworkOptions {
  /** bridge name (default lodgebr0) */
  name: string;
  /** `ipv4.address`: an explicit CIDR (the default), or "auto" */
  ipv4Address: string;
}

/** Lodge's default subnet: explicit, so a host always knows in advance what the bridge takes. */
export const DEFAULT_NETWORK: DefaultNetworkOptions = { name: 'lodgebr0', ipv4Address: '10.131.77.1/24' };

const MARKER = '.default-network-done';

export async function ensureDefaultNetwork(
  networks: NetworksService,
  profiles: ProfilesRepository,
  networksDir: string,
  options: DefaultNetworkOptions,
  log: (message: string) => void,
): Promise<void> {
  const marker = join(networksDir, MARKER);
  if (existsSync(marker)) return;
  const existing = (await networks.list()).find((n) => n.name === options.name);
  if (existing && !existing.managed) {
    // someone else's interface: never take it over, and never point the profile at it
    log(`default network: the host already has an interface named ${options.name} that Lodge does not manage; no default network made`);
    return;
  }
  if (!existing) {
    const config = { 'ipv4.address': options.ipv4Address, 'ipv4.nat': 'true', 'ipv6.address': 'none' };
    try {
      await networks.create({ name: options.name, type: 'bridge', description: '', config });
    } catch (err) {
      // the explicit subnet is taken on this host: a free one is chosen instead, as `auto` does
      if (!(err instanceof InvalidArgumentError) || options.ipv4Address === 'auto' || !/overlaps/.test(err.message)) throw err;
      log(`default network: ${err.message}; choosing a free subnet instead`);
      await networks.create({ name: options.name, type: 'bridge', description: '', config: { ...config, 'ipv4.address': 'auto' } });
    }
    log(`default network ${options.name} created`);
  }
  const profile = await profiles.get('default');
  const devices = (profile.devices ?? {}) as Record<string, Record<string, string>>;
  if (!Object.values(devices).some((d) => d.type === 'nic') && !devices.eth0) {
    await profiles.update('default', { devices: { ...devices, eth0: { type: 'nic', network: options.name, name: 'eth0' } } });
  }
  await mkdir(networksDir, { recursive: true, mode: 0o711 });
  await writeFile(marker, `${new Date().toISOString()}\n`);
}
