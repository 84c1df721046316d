import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

export type OperationClass = 'task' | 'websocket' | 'token';

/** A background operation, kept so `GET /1.0/operations` still lists it after a restart. */
@Entity({ name: 'operations' })
@Check('operations_class_check', `class IN ('task', 'websocket', 'token')`)
export class OperationEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid' })
  id!: string;

  @Column({ name: 'class', type: 'text' })
  class!: OperationClass;

  @Column({ name: 'description', type: 'text', default: '' })
  description!: string;

  /** LXD status code: 100 Created, 103 Running, 200 Success, 400 Failure, 401 Cancelled, ... */
  @Column({ name: 'status_code', type: 'integer' })
  statusCode!: number;

  /** e.g. { instances: ['/1.0/instances/c1'] } */
  @Column({ name: 'resources', type: 'jsonb', default: {} })
  resources!: Record<string, string[]>;

  @Column({ name: 'metadata', type: 'jsonb', nullable: true })
  metadata!: Record<string, unknown> | null;

  @Column({ name: 'err', type: 'text', default: '' })
  err!: string;

  @Column({ name: 'may_cancel', type: 'boolean', default: false })
  mayCancel!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
