import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A trusted client certificate (LXD's trust store). */
@Entity({ name: 'certificates' })
@Unique('certificates_fingerprint_key', ['fingerprint'])
@Check('certificates_type_check', `type IN ('client')`)
export class CertificateEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  /** sha256 of the DER certificate, lowercase hex. */
  @Column({ name: 'fingerprint', type: 'text' })
  fingerprint!: string;

  @Column({ name: 'type', type: 'text', default: 'client' })
  type!: 'client';

  @Column({ name: 'name', type: 'text', default: '' })
  name!: string;

  /** PEM text. */
  @Column({ name: 'certificate', type: 'text' })
  certificate!: string;

  @Column({ name: 'restricted', type: 'boolean', default: false })
  restricted!: boolean;

  @Column({ name: 'projects', type: 'text', array: true, default: () => "'{}'" })
  projects!: string[];
}
