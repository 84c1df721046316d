export {
  INSTANCE_CONFIG_KEYS,
  lookupConfigKey,
  configKeyDef,
  validateConfigKey,
  validateInstanceConfig,
  compactConfig,
  invalidValue,
  parseCpuLimit,
  parseCpuAllowance,
  parseMemoryLimit,
  MIN_MEMORY_LIMIT_BYTES,
  MIN_CPU_PERIOD_US,
  MAX_CPU_PERIOD_US,
  MIN_CPU_QUOTA_US,
} from './instance-keys';
export type { ConfigKeyDef, ValidateConfigOptions, CpuLimit, CpuAllowance, MemoryLimit } from './instance-keys';
export {
  DEVICE_TYPES,
  UNSUPPORTED_DEVICE_TYPES,
  MAX_DEVICE_NAME_LENGTH,
  validateDeviceName,
  validateDevice,
  validateDevices,
  isRootDisk,
  findRootDisk,
  parseProxyAddress,
  validateInterfaceName,
} from './devices';
export type { DeviceConfig, Devices, DeviceTypeDef } from './devices';
export { expandConfig, diffLiveUpdate } from './profiles';
export type { ProfileLayer, InstanceLayer, Expanded, ConfigChange, DeviceChange, LiveUpdateDiff } from './profiles';
export { toRuntimeLimits, affectsLimits, LIMIT_CONFIG_KEYS, DEFAULT_CPU_WEIGHT } from './limits';
export type { HostResources } from './limits';
export {
  parseBytes,
  formatBytes,
  BYTE_UNITS,
  parseBool,
  isTrue,
  parseIntStrict,
  parseCpuSet,
  formatCpuSet,
  parseDurationUs,
  MAX_CPU_INDEX,
} from './units';
