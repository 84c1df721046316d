import { InvalidNovaObjectError, NovaObject } from '../objects/nova-object';
import { containerName, instanceConfig, rootDevice } from './instance-mapping';
import { PowerState, powerStateOf } from './power-state';

function instance(extraSpecs: Record<string, string> = {}, data: Record<string, unknown> = {}): NovaObject {
  const flavor = new NovaObject('Flavor', '1.2', { vcpus: 2, memory_mb: 256, root_gb: 1, extra_specs: extraSpecs });
  return new NovaObject('Instance', '2.7', { uuid: 'u-1', id: 42, project_id: 'p1', image_ref: 'img', flavor, ...data });
}

describe('nova instance -> Lodge instance', () => {
  it('names the container instance-%08x of the id unless nova sent the name', () => {
    expect(containerName(instance())).toBe('instance-0000002a');
    expect(containerName(instance({}, { name: 'instance-000000ff' }))).toBe('instance-000000ff');
  });

  it('refuses names that are not instance names (they become paths) and negative ids', () => {
    for (const name of ['../../etc', 'a/b', '', 'x'.repeat(64), '-lead', 'instance-1\n']) {
      expect(() => containerName(instance({}, { name }))).toThrow(InvalidNovaObjectError);
    }
    expect(() => containerName(instance({}, { id: -1 }))).toThrow(InvalidNovaObjectError);
  });

  it('maps the flavor to limits and tags the instance with its nova uuid', () => {
    expect(instanceConfig(instance())).toEqual({
      'limits.cpu': '2',
      'limits.memory': '256MiB',
      'environment.product_name': 'OpenStack Nova',
      'user.nova.uuid': 'u-1',
      'user.nova.project_id': 'p1',
      'user.nova.image_ref': 'img',
    });
  });

  it('maps the lxd:* extra specs as nova-lxd did; "false" turns them off', () => {
    const c = instanceConfig(instance({ 'lxd:privileged_allowed': 'True', 'lxd:nested_allowed': 'yes', 'lxd:isolated': '1' }));
    expect(c).toMatchObject({ 'security.privileged': 'true', 'security.nesting': 'true', 'security.idmap.isolated': 'true' });
    expect(instanceConfig(instance({ 'lxd:privileged_allowed': 'false' }))['security.privileged']).toBeUndefined();
  });

  it('refuses a flavor without CPUs or memory', () => {
    const bad = new NovaObject('Instance', '2.7', { uuid: 'u', id: 1, flavor: new NovaObject('Flavor', '1.2', { vcpus: 0, memory_mb: 64 }) });
    expect(() => instanceConfig(bad)).toThrow('vcpus must be at least 1');
    expect(() => instanceConfig(new NovaObject('Instance', '2.7', { uuid: 'u', id: 1 }))).toThrow('flavor is missing');
  });

  it('sizes the root disk only where the pool enforces quotas', () => {
    expect(rootDevice(instance(), 'default', true)).toEqual({ root: { type: 'disk', path: '/', pool: 'default', size: '1GiB' } });
    expect(rootDevice(instance(), 'default', false)).toEqual({ root: { type: 'disk', path: '/', pool: 'default' } });
  });

  it('reports a frozen container as suspended or paused by what nova asked for', () => {
    expect(powerStateOf('Running', 'active')).toBe(PowerState.RUNNING);
    expect(powerStateOf('Stopped', 'active')).toBe(PowerState.SHUTDOWN);
    expect(powerStateOf('Frozen', 'suspended')).toBe(PowerState.SUSPENDED);
    expect(powerStateOf('Frozen', 'paused')).toBe(PowerState.PAUSED);
    expect(powerStateOf('Missing', 'active')).toBe(PowerState.NOSTATE);
  });
});
