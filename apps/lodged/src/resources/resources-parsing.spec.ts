import { parseCacheSize, parseCpuInfo } from './cpu';
import { diskType, pciAddressOf } from './disks';
import { memoryFromMeminfo, parseMeminfo } from './memory';
import { chassisTypeName, systemType } from './system';

describe('/proc/cpuinfo', () => {
  it('reads vendor, model name and MHz per processor (x86)', () => {
    const text = [
      'processor\t: 0', 'vendor_id\t: AuthenticAMD', 'model name\t: AMD EPYC', 'cpu MHz\t\t: 2596.142', '',
      'processor\t: 1', 'vendor_id\t: AuthenticAMD', 'model name\t: AMD EPYC', 'cpu MHz\t\t: 2600.000', '',
    ].join('\n');
    const info = parseCpuInfo(text);
    expect(info.get(0)).toEqual({ vendor: 'AuthenticAMD', name: 'AMD EPYC', mhz: 2596 });
    expect(info.get(1)?.mhz).toBe(2600);
  });

  it('copes with arm64 records (no vendor_id, no MHz)', () => {
    const info = parseCpuInfo('processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n');
    expect(info.get(0)).toEqual({ vendor: undefined, name: undefined, mhz: undefined });
    expect([...info.keys()]).toEqual([0, 1]);
  });

  it('reads sysfs cache sizes', () => {
    expect(parseCacheSize('32K')).toBe(32768);
    expect(parseCacheSize('8M')).toBe(8 * 1024 * 1024);
    expect(parseCacheSize('512')).toBe(512);
    expect(parseCacheSize('big')).toBeUndefined();
    expect(parseCacheSize(undefined)).toBeUndefined();
  });
});

describe('/proc/meminfo', () => {
  const meminfo = [
    'MemTotal:        8000000 kB',
    'MemFree:         1000000 kB',
    'MemAvailable:    6000000 kB',
    'Buffers:          100000 kB',
    'Cached:          4000000 kB',
    'HugePages_Total:       4',
    'HugePages_Free:        1',
    'Hugepagesize:       2048 kB',
  ].join('\n');

  it('reads kB values as bytes and counts as numbers', () => {
    const m = parseMeminfo(meminfo);
    expect(m.get('MemTotal')).toBe(8000000 * 1024);
    expect(m.get('HugePages_Total')).toBe(4);
  });

  it('reads a NUMA node meminfo', () => {
    const m = parseMeminfo('Node 0 MemTotal:        7432396 kB\nNode 0 MemUsed:         1016752 kB\n');
    expect(m.get('MemTotal')).toBe(7432396 * 1024);
    expect(m.get('MemUsed')).toBe(1016752 * 1024);
  });

  it('used is what is not available; huge pages in bytes', () => {
    expect(memoryFromMeminfo(parseMeminfo(meminfo))).toEqual({
      total: 8000000 * 1024,
      used: 2000000 * 1024,
      hugepages_total: 4 * 2048 * 1024,
      hugepages_used: 3 * 2048 * 1024,
      hugepages_size: 2048 * 1024,
    });
  });

  it('falls back to free + buffers + cache on kernels without MemAvailable', () => {
    const old = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n');
    expect(memoryFromMeminfo(old).used).toBe(600 * 1024);
  });
});

describe('disks', () => {
  it('finds the PCI address nearest the disk', () => {
    expect(pciAddressOf('/sys/devices/pci0000:00/0000:00:02.0/virtio1')).toBe('0000:00:02.0');
    expect(pciAddressOf('/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0')).toBe('0000:3d:00.0');
    expect(pciAddressOf('/sys/devices/platform/soc/mmc0')).toBeUndefined();
  });

  it('names the bus', () => {
    expect(diskType('nvme0n1', '../../bus/nvme', undefined)).toBe('nvme');
    expect(diskType('vda', '../../../../bus/virtio', '/sys/devices/pci0000:00/0000:00:02.0/virtio1')).toBe('virtio');
    expect(diskType('sdb', '../../bus/scsi', '/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6')).toBe('usb');
    expect(diskType('sda', undefined, undefined)).toBeUndefined();
  });
});

describe('system', () => {
  it('tells containers, virtual machines and physical machines apart', () => {
    expect(systemType({ initEnviron: 'HOME=/\0container=lxc\0', cpuinfo: 'flags : fpu hypervisor' })).toBe('container');
    expect(systemType({ systemdContainer: 'docker', cpuinfo: '' })).toBe('container');
    expect(systemType({ initEnviron: 'HOME=/\0', cpuinfo: 'processor : 0\nflags\t\t: fpu vme hypervisor lahf_lm\n' })).toBe('virtual-machine');
    expect(systemType({ cpuinfo: 'processor : 0\nflags\t\t: fpu vme lahf_lm\n' })).toBe('physical');
    expect(systemType({})).toBe('unknown');
  });

  it('names SMBIOS chassis types', () => {
    expect(chassisTypeName('10')).toBe('Notebook');
    expect(chassisTypeName('23')).toBe('Rack Mount Chassis');
    expect(chassisTypeName('99')).toBe('Unknown');
    expect(chassisTypeName('')).toBe('');
  });
});
