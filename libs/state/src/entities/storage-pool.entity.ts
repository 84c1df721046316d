import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A storage pool. The migration seeds `default` (driver `dir`). */
@Entity({ name: 'storage_pools' })
@Unique('storage_pools_name_key', ['name'])
export class StoragePoolEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'driver', type: 'text' })
  driver!: string;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  @Column({ name: 'config', type: 'jsonb', default: {} })
  config!: Record<string, string>;
}
