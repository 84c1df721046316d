/**
 * `obj_tree_get_versions(name)` of nova 26 (Zed): the object versions a compute host understands,
 * sent with every `object_class_action_versions` call so the conductor backports its answer.
 */
const HOST_OBJECTS = { Service: '1.22', ComputeNode: '1.19', HVSpec: '1.2', PciDevicePoolList: '1.1', PciDevicePool: '1.1' };

const INSTANCE_TREE = {
  Instance: '2.7',
  ServiceList: '1.19',
  ...HOST_OBJECTS,
  InstanceInfoCache: '1.5',
  SecurityGroupList: '1.1',
  SecurityGroup: '1.2',
  InstanceFault: '1.2',
  PciDeviceList: '1.3',
  PciDevice: '1.7',
  InstanceNUMATopology: '1.3',
  InstanceNUMACell: '1.6',
  VirtCPUTopology: '1.0',
  InstancePCIRequests: '1.1',
  InstancePCIRequest: '1.4',
  InstanceDeviceMetadata: '1.0',
  DeviceMetadata: '1.0',
  DeviceBus: '1.0',
  TagList: '1.1',
  Tag: '1.1',
  Flavor: '1.2',
  VirtCPUModel: '1.0',
  VirtCPUFeature: '1.0',
  EC2Ids: '1.0',
  MigrationContext: '1.2',
  ResourceList: '1.0',
  Resource: '1.0',
  ResourceMetadata: '1.0',
  KeyPairList: '1.3',
  KeyPair: '1.4',
  TrustedCerts: '1.0',
};

export const OBJECT_MANIFESTS: Record<string, Record<string, string>> = {
  Instance: INSTANCE_TREE,
  InstanceList: { InstanceList: '2.6', ...INSTANCE_TREE },
  Service: HOST_OBJECTS,
  ComputeNode: { ComputeNode: '1.19', HVSpec: '1.2', PciDevicePoolList: '1.1', PciDevicePool: '1.1' },
  InstanceActionEvent: { InstanceActionEvent: '1.4' },
  InstanceAction: { InstanceAction: '1.2' },
  BlockDeviceMappingList: { BlockDeviceMappingList: '1.18', BlockDeviceMapping: '1.21', ...INSTANCE_TREE },
  InstanceFault: { InstanceFault: '1.2' },
  Flavor: { Flavor: '1.2' },
};

/** The newest version nova 26 has of the objects Lodge creates itself. */
export const OBJECT_VERSIONS = {
  Service: '1.22',
  ComputeNode: '1.19',
  HVSpec: '1.2',
  InstanceFault: '1.2',
  Diagnostics: '1.0',
  CpuDiagnostics: '1.0',
  MemoryDiagnostics: '1.0',
  NicDiagnostics: '1.0',
  DiskDiagnostics: '1.0',
} as const;
