import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** An LXD project. The migration seeds `default`. */
@Entity({ name: 'projects' })
@Unique('projects_name_key', ['name'])
export class ProjectEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  @Column({ name: 'config', type: 'jsonb', default: {} })
  config!: Record<string, string>;
}
