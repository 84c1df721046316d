import { Column, Entity, ForeignKey, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ProjectEntity } from './project.entity';
import { ImageEntity } from './image.entity';

/** An image alias; deleting the image deletes its aliases (ON DELETE CASCADE). */
@Entity({ name: 'image_aliases' })
@Unique('image_aliases_project_name_key', ['project', 'name'])
export class ImageAliasEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @ForeignKey(() => ProjectEntity, 'name', { name: 'image_aliases_project_fkey', onUpdate: 'CASCADE' })
  @Column({ name: 'project', type: 'text', default: 'default' })
  project!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  @Index('image_aliases_fingerprint_idx')
  @Column({ name: 'fingerprint', type: 'text' })
  fingerprint!: string;

  @ManyToOne(() => ImageEntity, {
    onDelete: 'CASCADE',
    onUpdate: 'CASCADE',
    createForeignKeyConstraints: true,
  })
  @JoinColumn({ name: 'fingerprint', referencedColumnName: 'fingerprint', foreignKeyConstraintName: 'image_aliases_fingerprint_fkey' })
  image?: ImageEntity;
}
