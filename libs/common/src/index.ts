export * from './errors';
export * from './reverter';
export * from './cpu-list';
export * from './keyed-lock';
