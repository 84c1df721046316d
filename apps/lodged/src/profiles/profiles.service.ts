/**
 * The profile use cases behind /1.0/profiles: list, get (with used_by), create, replace, patch,
 * rename, delete. Instances expand their profiles when they start (InstancesService); running
 * instances using a changed profile take its new limits at once, the rest at their next start.
 *
 * A change that would break an instance using the profile is refused before anything is stored:
 * its root disk must stay where it is and its expanded devices must stay valid.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@lodge/common';
import { expandConfig, findRootDisk, validateDevices } from '@lodge/config';
import type { Devices } from '@lodge/config';
import { InstancesService, STORAGE_POOLS, StoragePools } from '@lodge/instance';
import { InstanceEntity, InstancesRepository, ProfileEntity, ProfilesRepository } from '@lodge/state';
import { EventsService } from '../events/events.service';
import { checkIfMatch } from '../http/etag';
import { StatusError } from '../http/status-error';
import type { RequestAuth } from '../trust/trust.service';
import {
  NewProfile,
  parseProfilePatch,
  parseProfilePut,
  parseProfileRename,
  parseProfilesPost,
  ProfileWritable,
} from './profile-request';
import { ApiProfile, profileEtag, profileEtagFields, profileUrl, toApiProfile } from './profile-view';

export const DEFAULT_PROFILE = 'default';

/** 403, as LXD answers an attempt to rename or delete the `default` profile. */
export class DefaultProfileError extends StatusError {
  constructor(action: 'renamed' | 'deleted') {
    super(403, `The 'default' profile cannot be ${action}`);
    this.name = 'DefaultProfileError';
  }
}

@Injectable()
export class ProfilesService {
  constructor(
    private readonly profiles: ProfilesRepository,
    private readonly instances: InstancesRepository,
    @Inject(STORAGE_POOLS) private readonly pools: StoragePools,
    private readonly events: EventsService,
    /** the instance use cases: running instances take a profile's new limits at once */
    private readonly engine: InstancesService,
  ) {}

  /** Every profile of the project with its used_by: two queries, whatever the counts. */
  async list(project: string): Promise<ApiProfile[]> {
    const [profiles, instances] = await Promise.all([this.profiles.list(project), this.instances.list(project)]);
    return profiles.map((p) => toApiProfile(p, usersOf(p.name, instances)));
  }

  async names(project: string): Promise<string[]> {
    return this.profiles.listNames(project);
  }

  async get(name: string, project: string): Promise<{ profile: ApiProfile; etag: string }> {
    const [row, usedBy] = await Promise.all([this.profiles.get(name, project), this.profiles.usedBy(name, project)]);
    const profile = toApiProfile(row, usedBy);
    return { profile, etag: profileEtag(profile) };
  }

  async create(body: unknown, project: string, auth?: RequestAuth): Promise<string> {
    const p: NewProfile = parseProfilesPost(body);
    this.checkPools(p.devices);
    try {
      await this.profiles.create({ project, ...p });
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`Error inserting ${p.name} into database: The profile already exists`);
      throw err;
    }
    this.lifecycle('profile-created', p.name, project, auth);
    return profileUrl(p.name);
  }

  /** PUT: replaces the writable fields. */
  async replace(name: string, body: unknown, ifMatch: string | undefined, project: string, auth?: RequestAuth): Promise<void> {
    const current = await this.current(name, project, ifMatch);
    await this.store(current, parseProfilePut(body), project, auth);
  }

  /** PATCH: merges config keys and devices over the current ones. */
  async patch(name: string, body: unknown, ifMatch: string | undefined, project: string, auth?: RequestAuth): Promise<void> {
    const current = await this.current(name, project, ifMatch);
    await this.store(current, parseProfilePatch(body, writableOf(current)), project, auth);
  }

  /** Renames the profile and the references to it in the project's instances. */
  async rename(name: string, body: unknown, project: string, auth?: RequestAuth): Promise<string> {
    if (name === DEFAULT_PROFILE) throw new DefaultProfileError('renamed');
    const newName = parseProfileRename(body);
    try {
      await this.profiles.rename(name, newName, project);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new AlreadyExistsError(`Name '${newName}' already in use`);
      throw err;
    }
    this.lifecycle('profile-renamed', newName, project, auth, { old_name: name });
    return profileUrl(newName);
  }

  /** Deletes an unused profile ("Profile is currently in use" otherwise). */
  async delete(name: string, project: string, auth?: RequestAuth): Promise<void> {
    if (name === DEFAULT_PROFILE) throw new DefaultProfileError('deleted');
    await this.profiles.delete(name, project);
    this.lifecycle('profile-deleted', name, project, auth);
  }

  /** The stored profile, after the If-Match check against its current ETag (412 on mismatch). */
  private async current(name: string, project: string, ifMatch: string | undefined): Promise<ProfileEntity> {
    const row = await this.profiles.get(name, project);
    checkIfMatch(ifMatch, profileEtagFields(writableOf(row)));
    return row;
  }

  private async store(current: ProfileEntity, next: ProfileWritable, project: string, auth?: RequestAuth): Promise<void> {
    this.checkPools(next.devices);
    await this.checkUsers(current, next, project);
    await this.profiles.update(current.name, next, project);
    this.lifecycle('profile-updated', current.name, project, auth);
    await this.engine.applyProfileChange(current.name);
  }

  /** A disk device's pool must exist (LXD's disk device validation). */
  private checkPools(devices: Devices): void {
    for (const [name, d] of Object.entries(devices)) {
      if (d.type !== 'disk' || !d.pool) continue;
      try {
        this.pools.get(d.pool);
      } catch (err) {
        if (err instanceof NotFoundError) {
          throw new InvalidArgumentError(`Device validation failed for "${name}": The "${d.pool}" storage pool doesn't exist`);
        }
        throw err;
      }
    }
  }

  /**
   * Expands every instance using the profile with the new version of it: its root disk must stay
   * on the same pool (its volume lives there), and its expanded devices must stay valid.
   */
  private async checkUsers(current: ProfileEntity, next: ProfileWritable, project: string): Promise<void> {
    const users = (await this.instances.list(project)).filter((i) => i.profiles.includes(current.name));
    if (users.length === 0) return;
    const others = (await this.profiles.list(project)).filter((p) => p.name !== current.name);
    const before = [...others, current];
    const after = [...others, { name: current.name, config: next.config, devices: next.devices }];
    for (const inst of users) {
      const layer = { config: inst.config, devices: inst.devices, profiles: inst.profiles };
      const oldDevices = expandConfig(before, layer).expanded_devices;
      const newDevices = expandConfig(after, layer).expanded_devices;
      const oldRoot = findRootDisk(oldDevices);
      const newRoot = findRootDisk(newDevices);
      if (oldRoot && (!newRoot || newRoot.device.pool !== oldRoot.device.pool)) {
        throw new InvalidArgumentError("At least one instance relies on this profile's root disk device");
      }
      try {
        validateDevices(newDevices);
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`Invalid devices for instance "${inst.name}": ${err.message}`);
        throw err;
      }
    }
  }

  private lifecycle(action: string, name: string, project: string, auth?: RequestAuth, context?: Record<string, unknown>): void {
    this.events.emitLifecycle(
      {
        action,
        source: profileUrl(name),
        ...(context ? { context } : {}),
        requestor: auth
          ? { username: auth.fingerprint ?? (auth.protocol === 'unix' ? 'root' : ''), protocol: auth.protocol, address: auth.address }
          : null,
      },
      project,
    );
  }
}

function writableOf(p: ProfileEntity): ProfileWritable {
  return { config: p.config ?? {}, description: p.description, devices: p.devices ?? {} };
}

function usersOf(profile: string, instances: readonly InstanceEntity[]): string[] {
  return instances.filter((i) => i.profiles.includes(profile)).map((i) => i.name);
}
