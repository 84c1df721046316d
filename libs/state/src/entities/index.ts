import { CertificateEntity } from './certificate.entity';
import { IdmapAllocationEntity } from './idmap-allocation.entity';
import { ImageAliasEntity } from './image-alias.entity';
import { ImageEntity } from './image.entity';
import { InstanceEntity } from './instance.entity';
import { NetworkAllocationEntity } from './network-allocation.entity';
import { NetworkEntity } from './network.entity';
import { OperationEntity } from './operation.entity';
import { ProfileEntity } from './profile.entity';
import { ProjectEntity } from './project.entity';
import { ServerConfigEntity } from './server-config.entity';
import { StoragePoolEntity } from './storage-pool.entity';

export * from './certificate.entity';
export * from './idmap-allocation.entity';
export * from './image-alias.entity';
export * from './image.entity';
export * from './instance.entity';
export * from './network-allocation.entity';
export * from './network.entity';
export * from './operation.entity';
export * from './profile.entity';
export * from './project.entity';
export * from './server-config.entity';
export * from './storage-pool.entity';

/** Every entity, for the DataSource. */
export const STATE_ENTITIES = [
  ProjectEntity,
  StoragePoolEntity,
  InstanceEntity,
  ProfileEntity,
  ImageEntity,
  ImageAliasEntity,
  CertificateEntity,
  ServerConfigEntity,
  OperationEntity,
  IdmapAllocationEntity,
  NetworkEntity,
  NetworkAllocationEntity,
];
