export * from './nft-command';
export * from './network-ruleset';
export * from './network-firewall';
