export * from './storage-driver';
export * from './registry';
export { DirStorageDriver, DIR_CAPABILITIES } from './drivers/dir';
