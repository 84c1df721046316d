import { Check, Column, Entity, ForeignKey, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { InstanceEntity } from './instance.entity';
import { NetworkEntity } from './network.entity';

/**
 * The address and MAC of one NIC (instance + device) on a managed network: what DHCP reserves for
 * it. The unique constraints are the guarantee that no address or MAC is ever held twice on one
 * network. `static` marks a user-given `ipv4.address`; the others were picked by Lodge.
 */
@Entity({ name: 'network_allocations' })
@Unique('network_allocations_network_ipv4_key', ['networkId', 'ipv4Address'])
@Unique('network_allocations_network_hwaddr_key', ['networkId', 'hwaddr'])
@Unique('network_allocations_instance_device_key', ['instanceId', 'device'])
@Check('network_allocations_ipv4_address_check', 'family(ipv4_address) = 4 AND masklen(ipv4_address) = 32')
export class NetworkAllocationEntity {
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'integer', generatedIdentity: 'ALWAYS' })
  id!: number;

  @ForeignKey(() => NetworkEntity, 'id', { name: 'network_allocations_network_id_fkey' })
  @Column({ name: 'network_id', type: 'integer' })
  networkId!: number;

  @ForeignKey(() => InstanceEntity, 'id', { name: 'network_allocations_instance_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'instance_id', type: 'integer' })
  instanceId!: number;

  @Column({ name: 'device', type: 'text' })
  device!: string;

  /** lower-case `xx:xx:xx:xx:xx:xx` (PostgreSQL's macaddr output) */
  @Column({ name: 'hwaddr', type: 'macaddr' })
  hwaddr!: string;

  /** dotted quad, or null on a network without IPv4 */
  @Column({ name: 'ipv4_address', type: 'inet', nullable: true })
  ipv4Address!: string | null;

  @Column({ name: 'static', type: 'boolean', default: false })
  static!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
