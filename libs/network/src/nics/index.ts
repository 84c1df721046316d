export * from './nic-identity';
export * from './nic-devices';
