export * from './storage-driver';
export * from './registry';
export { KeyedLock } from './keyed-lock';
export { DirStorageDriver, DIR_CAPABILITIES } from './drivers/dir';
