export * from './proxy';
export * from './ipam';
export * from './nft';
export * from './dhcp';
export * from './networks/network-keys';
export * from './links';
