export * from './netns-socket';
export * from './proxy-forwarder';
