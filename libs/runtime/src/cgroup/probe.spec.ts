import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import { CgroupV1Backend } from './cgroup-v1';
import { CgroupV2Backend } from './cgroup-v2';
import { parseMountInfo, v1Hierarchies } from './mountinfo';
import { LODGE_CGROUP_PARENT, probeCgroups } from './probe';

/** mountinfo of a hybrid host (cgroup v1 controllers + a controller-less cgroup2 at .../unified). */
const hybrid = (base: string): string =>
  [
    `31 23 0:28 / ${base} rw,relatime - tmpfs tmpfs rw,mode=755`,
    `32 31 0:29 / ${base}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct`,
    `34 31 0:31 / ${base}/cpuset rw,relatime - cgroup cgroup rw,cpuset`,
    `35 31 0:32 / ${base}/memory rw,relatime - cgroup cgroup rw,memory`,
    `39 31 0:36 / ${base}/pids rw,relatime - cgroup cgroup rw,pids`,
    `40 31 0:37 / ${base}/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd`,
    `41 31 0:38 / ${base}/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate`,
    `42 31 0:32 / /mnt/memory\\040copy rw,relatime - cgroup cgroup rw,memory`,
    '',
  ].join('\n');

describe('mountinfo parsing', () => {
  it('finds one hierarchy per v1 superblock, with comma-joined controllers and name=', () => {
    const h = v1Hierarchies(parseMountInfo(hybrid('/sys/fs/cgroup')));
    expect(h).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/cpuset', controllers: ['cpuset'] },
      { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
      { mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] },
    ]);
  });
  it('unescapes mount points', () => {
    expect(parseMountInfo(hybrid('/x')).map((e) => e.mountPoint)).toContain('/mnt/memory copy');
  });
});

describe('probeCgroups', () => {
  let dir: string;
  let fakeV2Root: string;
  const mountinfo = (text: string): string => {
    const p = join(dir, 'mountinfo');
    writeFileSync(p, text);
    return p;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lodge-probe-'));
    fakeV2Root = join(dir, 'cg2');
    mkdirSync(fakeV2Root);
    writeFileSync(join(fakeV2Root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('picks v1 on a hybrid host, ignoring the controller-less unified mount', () => {
    const b = probeCgroups({ mountinfoPath: mountinfo(hybrid(join(dir, 'fs'))), env: {} });
    expect(b).toBeInstanceOf(CgroupV1Backend);
    expect((b as CgroupV1Backend).parent).toBe(LODGE_CGROUP_PARENT);
    expect(b.capabilities).toMatchObject({ version: 'v1', memory: true, pids: true, cpu: true, freezer: false, devices: false });
  });

  it('picks v2 when the root itself is cgroup2', () => {
    const text = `30 23 0:27 / ${fakeV2Root} rw - cgroup2 cgroup2 rw,nsdelegate\n`;
    const b = probeCgroups({ mountinfoPath: mountinfo(text), root: fakeV2Root, env: {}, parent: 'lodge-test-p' });
    expect(b).toBeInstanceOf(CgroupV2Backend);
    expect((b as CgroupV2Backend).root).toBe(fakeV2Root);
    expect((b as CgroupV2Backend).parent).toBe('lodge-test-p');
    expect(b.capabilities).toMatchObject({ version: 'v2', memory: true, cpu: true, pids: true });
  });

  it('takes the root from LODGE_CGROUP_ROOT and can be forced with LODGE_CGROUP', () => {
    const text = hybrid(join(dir, 'fs')) + `50 23 0:27 / ${fakeV2Root} rw - cgroup2 cgroup2 rw\n`;
    const path = mountinfo(text);
    expect(probeCgroups({ mountinfoPath: path, env: { LODGE_CGROUP_ROOT: fakeV2Root } })).toBeInstanceOf(CgroupV2Backend);
    expect(probeCgroups({ mountinfoPath: path, env: { LODGE_CGROUP_ROOT: fakeV2Root, LODGE_CGROUP: 'v1' } })).toBeInstanceOf(
      CgroupV1Backend,
    );
    expect(() => probeCgroups({ mountinfoPath: path, env: { LODGE_CGROUP: 'v3' } })).toThrow(InvalidArgumentError);
  });

  it('fails clearly when nothing usable is mounted', () => {
    expect(() => probeCgroups({ mountinfoPath: mountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n'), env: {} })).toThrow(
      NotSupportedError,
    );
    expect(() => probeCgroups({ mountinfoPath: mountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n'), env: { LODGE_CGROUP: 'v2' } })).toThrow(
      /no cgroup2 filesystem/,
    );
  });
});
