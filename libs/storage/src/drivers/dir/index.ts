/** The `dir` storage driver: a directory pool, images unpacked once, instances as overlays. */
import { StorageDriverDefinition } from '../../storage-driver';
import { DIR_CAPABILITIES, DirStorageDriver } from './dir-driver';

export { DirStorageDriver, DIR_CAPABILITIES } from './dir-driver';

export const driver: StorageDriverDefinition = {
  name: 'dir',
  capabilities: DIR_CAPABILITIES,
  open: (poolPath: string) => new DirStorageDriver(poolPath),
};
