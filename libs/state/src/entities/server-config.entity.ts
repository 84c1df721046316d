import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Server config (`GET /1.0` `config`): one row per key. */
@Entity({ name: 'server_config' })
export class ServerConfigEntity {
  @PrimaryColumn({ name: 'key', type: 'text' })
  key!: string;

  @Column({ name: 'value', type: 'text' })
  value!: string;
}
