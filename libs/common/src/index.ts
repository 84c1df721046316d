export * from './errors';
export * from './reverter';
export * from './cpu-list';
