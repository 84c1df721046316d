export * from './netns-socket';
export * from './proxy-forwarder';
export * from './proxy-devices';
