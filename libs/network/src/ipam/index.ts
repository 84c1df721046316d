export * from './ip-address';
export * from './subnet';
export * from './dhcp-ranges';
export * from './address-allocation';
export * from './auto-subnet';
export * from './host-routes';
