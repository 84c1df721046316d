export * from './dhcp-hosts';
export * from './leases';
export * from './dnsmasq-config';
export * from './dnsmasq-process';
export * from './dnsmasq-supervisor';
export * from './dhcp-release';
