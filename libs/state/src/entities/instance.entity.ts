import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ProjectEntity } from './project.entity';
import { StoragePoolEntity } from './storage-pool.entity';

export type InstanceStatus = 'Running' | 'Stopped' | 'Frozen';
export type InstanceType = 'container';

/** A device entry as LXD stores it: a string map with at least `type`. */
export type DeviceMap = Record<string, Record<string, string>>;

/**
 * A system container. `status` is the desired state; `runtime` is the runtime's ContainerRecord
 * (pid, start time, cgroup, ...) of the running container, kept so a restarted daemon can re-adopt it.
 */
@Entity({ name: 'instances' })
@Unique('instances_project_name_key', ['project', 'name'])
@Check('instances_type_check', `type IN ('container')`)
@Check('instances_status_check', `status IN ('Running', 'Stopped', 'Frozen')`)
export class InstanceEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @ForeignKey(() => ProjectEntity, 'name', { name: 'instances_project_fkey', onUpdate: 'CASCADE' })
  @Column({ name: 'project', type: 'text', default: 'default' })
  project!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'type', type: 'text', default: 'container' })
  type!: InstanceType;

  @Column({ name: 'architecture', type: 'text' })
  architecture!: string;

  @Column({ name: 'ephemeral', type: 'boolean', default: false })
  ephemeral!: boolean;

  @Column({ name: 'stateful', type: 'boolean', default: false })
  stateful!: boolean;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  /** Instance-local config keys (string map), including `volatile.*`. */
  @Column({ name: 'config', type: 'jsonb', default: {} })
  config!: Record<string, string>;

  @Column({ name: 'devices', type: 'jsonb', default: {} })
  devices!: DeviceMap;

  /** Profile names in application order (later ones win). */
  @Index('instances_profiles_idx', { type: 'gin' })
  @Column({ name: 'profiles', type: 'text', array: true, default: () => "'{}'" })
  profiles!: string[];

  @Column({ name: 'status', type: 'text', default: 'Stopped' })
  status!: InstanceStatus;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  /** The runtime's ContainerRecord while the container runs; null when it does not. */
  @Column({ name: 'runtime', type: 'jsonb', nullable: true })
  runtime!: Record<string, unknown> | null;

  @ForeignKey(() => StoragePoolEntity, 'name', { name: 'instances_storage_pool_fkey', onUpdate: 'CASCADE' })
  @Column({ name: 'storage_pool', type: 'text', nullable: true })
  storagePool!: string | null;

  /** The nova instance uuid when nova created this container. */
  @Index('instances_nova_uuid_key', { unique: true, where: 'nova_uuid IS NOT NULL' })
  @Column({ name: 'nova_uuid', type: 'uuid', nullable: true })
  novaUuid!: string | null;
}
