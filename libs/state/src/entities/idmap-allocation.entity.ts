import { Check, Column, Entity, Exclusion, JoinColumn, OneToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { InstanceEntity } from './instance.entity';
import { bigintNumber } from './transformers';

/**
 * The host id range of one unprivileged instance: container ids 0..size-1 map to
 * host uids hostUidBase.. and host gids hostGidBase... Two exclusion constraints
 * (gist on int8range, see the migration) make overlapping uid or gid ranges impossible.
 */
@Entity({ name: 'idmap_allocations' })
@Unique('idmap_allocations_instance_id_key', ['instanceId'])
@Check('idmap_allocations_host_uid_base_check', 'host_uid_base >= 0')
@Check('idmap_allocations_host_gid_base_check', 'host_gid_base >= 0')
@Check('idmap_allocations_size_check', 'size > 0')
@Exclusion('idmap_allocations_uid_excl', 'USING gist (int8range(host_uid_base, host_uid_base + size) WITH &&)')
@Exclusion('idmap_allocations_gid_excl', 'USING gist (int8range(host_gid_base, host_gid_base + size) WITH &&)')
export class IdmapAllocationEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column({ name: 'instance_id', type: 'integer' })
  instanceId!: number;

  @OneToOne(() => InstanceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'instance_id', referencedColumnName: 'id', foreignKeyConstraintName: 'idmap_allocations_instance_id_fkey' })
  instance?: InstanceEntity;

  @Column({ name: 'host_uid_base', type: 'bigint', transformer: bigintNumber })
  hostUidBase!: number;

  @Column({ name: 'host_gid_base', type: 'bigint', transformer: bigintNumber })
  hostGidBase!: number;

  @Column({ name: 'size', type: 'integer' })
  size!: number;
}
