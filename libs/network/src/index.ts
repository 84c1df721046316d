export * from './proxy';
