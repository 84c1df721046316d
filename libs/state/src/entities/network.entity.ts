import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

export type NetworkType = 'bridge' | 'macvlan';
/** LXD's network status: Pending until the kernel objects exist, Created after, Errored when setup failed. */
export type NetworkStatus = 'Pending' | 'Created' | 'Errored' | 'Unavailable';

/** A managed network (a Lodge-made bridge, or a macvlan parent). `config` holds LXD's keys (`ipv4.address`, ...). */
@Entity({ name: 'networks' })
@Unique('networks_name_key', ['name'])
@Check('networks_type_check', `type IN ('bridge', 'macvlan')`)
@Check('networks_status_check', `status IN ('Pending', 'Created', 'Errored', 'Unavailable')`)
export class NetworkEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'type', type: 'text', default: 'bridge' })
  type!: NetworkType;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  @Column({ name: 'config', type: 'jsonb', default: {} })
  config!: Record<string, string>;

  @Column({ name: 'status', type: 'text', default: 'Pending' })
  status!: NetworkStatus;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
