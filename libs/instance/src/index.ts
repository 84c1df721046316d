export * from './instances.service';
export * from './instance-name';
