import { Column, Entity, ForeignKey, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ProjectEntity } from './project.entity';
import type { DeviceMap } from './instance.entity';

@Entity({ name: 'profiles' })
@Unique('profiles_project_name_key', ['project', 'name'])
export class ProfileEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @ForeignKey(() => ProjectEntity, 'name', { name: 'profiles_project_fkey', onUpdate: 'CASCADE' })
  @Column({ name: 'project', type: 'text', default: 'default' })
  project!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  @Column({ name: 'config', type: 'jsonb', default: {} })
  config!: Record<string, string>;

  @Column({ name: 'devices', type: 'jsonb', default: {} })
  devices!: DeviceMap;
}
