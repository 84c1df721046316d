/**
 * GET /1.0/resources as LXD 5.0 serves it (api.Resources): the field names are the wire contract
 * that `lxc info --resources` and pylxd decode. Optional fields are the ones Go omits when empty.
 */

export interface ResourcesCpuThread {
  id: number;
  numa_node: number;
  thread: number;
  online: boolean;
  isolated: boolean;
}

export interface ResourcesCpuCore {
  core: number;
  die: number;
  threads: ResourcesCpuThread[];
  frequency?: number;
}

export interface ResourcesCpuCache {
  level: number;
  type: string;
  size: number;
}

export interface ResourcesCpuSocket {
  name?: string;
  vendor?: string;
  socket: number;
  cache?: ResourcesCpuCache[];
  cores: ResourcesCpuCore[];
  frequency?: number;
  frequency_minimum?: number;
  frequency_turbo?: number;
}

export interface ResourcesCpu {
  architecture: string;
  sockets: ResourcesCpuSocket[];
  total: number;
}

export interface ResourcesMemoryNode {
  numa_node: number;
  hugepages_used: number;
  hugepages_total: number;
  used: number;
  total: number;
}

export interface ResourcesMemory {
  nodes?: ResourcesMemoryNode[];
  hugepages_total: number;
  hugepages_used: number;
  hugepages_size: number;
  used: number;
  total: number;
}

export interface ResourcesStorageDiskPartition {
  id: string;
  device: string;
  read_only: boolean;
  size: number;
  partition: number;
}

export interface ResourcesStorageDisk {
  id: string;
  device: string;
  model?: string;
  type?: string;
  read_only: boolean;
  size: number;
  removable: boolean;
  wwn?: string;
  numa_node: number;
  device_path?: string;
  block_size: number;
  firmware_version?: string;
  rpm: number;
  serial?: string;
  device_id: string;
  partitions: ResourcesStorageDiskPartition[];
  pci_address?: string;
}

export interface ResourcesSystem {
  uuid: string;
  vendor: string;
  product: string;
  family: string;
  version: string;
  sku: string;
  serial: string;
  type: string;
  firmware: { vendor: string; date: string; version: string };
  chassis: { vendor: string; type: string; serial: string; version: string };
  motherboard: { vendor: string; product: string; serial: string; version: string };
}

/** Device families Lodge does not inventory yet: always present, empty, with their total. */
export interface EmptyCardList {
  cards: never[];
  total: number;
}

export interface EmptyDeviceList {
  devices: never[];
  total: number;
}

export interface Resources {
  cpu: ResourcesCpu;
  memory: ResourcesMemory;
  gpu: EmptyCardList;
  network: EmptyCardList;
  storage: { disks: ResourcesStorageDisk[]; total: number };
  usb: EmptyDeviceList;
  pci: EmptyDeviceList;
  system: ResourcesSystem;
}

/** GET /1.0/storage-pools/{name}/resources (api.ResourcesStoragePool). */
export interface StoragePoolResources {
  space: { used: number; total: number };
  inodes: { used: number; total: number };
}
