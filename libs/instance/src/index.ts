export * from './instances.service';
export * from './instance-name';
export * from './instance-network';
