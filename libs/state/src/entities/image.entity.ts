import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { bigintNumber } from './transformers';

/** An image in the local store, keyed by its sha256 fingerprint (64 lowercase hex digits). */
@Entity({ name: 'images' })
@Unique('images_fingerprint_key', ['fingerprint'])
@Check('images_fingerprint_check', `fingerprint ~ '^[0-9a-f]{64}$'`)
@Check('images_type_check', `type IN ('container')`)
export class ImageEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column({ name: 'fingerprint', type: 'text' })
  fingerprint!: string;

  @Column({ name: 'filename', type: 'text', default: '' })
  filename!: string;

  @Column({ name: 'size', type: 'bigint', default: 0, transformer: bigintNumber })
  size!: number;

  @Column({ name: 'architecture', type: 'text' })
  architecture!: string;

  @Column({ name: 'type', type: 'text', default: 'container' })
  type!: 'container';

  @Column({ name: 'public', type: 'boolean', default: false })
  public!: boolean;

  @Column({ name: 'auto_update', type: 'boolean', default: false })
  autoUpdate!: boolean;

  /** Downloaded into the cache from a remote (not imported by a user). */
  @Column({ name: 'cached', type: 'boolean', default: false })
  cached!: boolean;

  @Column({ name: 'properties', type: 'jsonb', default: {} })
  properties!: Record<string, string>;

  /** metadata.yaml as parsed: architecture, creation_date, properties, templates, ... */
  @Column({ name: 'metadata', type: 'jsonb', default: {} })
  metadata!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'uploaded_at', type: 'timestamptz', default: () => 'now()' })
  uploadedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
