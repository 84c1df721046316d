import { InvalidNovaObjectError, listObjects, novaDateTime, NovaObject } from './nova-object';

const instance = {
  'nova_object.name': 'Instance',
  'nova_object.namespace': 'nova',
  'nova_object.version': '2.7',
  'nova_object.data': {
    uuid: 'b55b88cd-1d31-4dad-8e16-c2861d9b1e45',
    task_state: 'scheduling',
    some_future_field: { kept: true },
    flavor: { 'nova_object.name': 'Flavor', 'nova_object.namespace': 'nova', 'nova_object.version': '1.2', 'nova_object.data': { vcpus: 2 } },
  },
  'nova_object.changes': ['tags'],
};

describe('NovaObject', () => {
  it('round-trips a primitive, keeping unknown fields and the change list', () => {
    const o = NovaObject.fromPrimitive(instance, 'Instance');
    expect(o.toPrimitive()).toEqual(instance);
    expect(o.obj('flavor', 'Flavor')?.int('vcpus')).toBe(2);
  });

  it('records changed fields and sends only those as changes', () => {
    const o = NovaObject.fromPrimitive(instance, 'Instance');
    o.set('vm_state', 'building').set('task_state', null);
    expect(o.toPrimitive()['nova_object.changes']).toEqual(['tags', 'vm_state', 'task_state']);
    expect(o.toPrimitive()['nova_object.data'].task_state).toBeNull();
  });

  it('applies a conductor save reply: the server fields, then nothing pending', () => {
    const o = NovaObject.fromPrimitive(instance, 'Instance');
    o.set('vm_state', 'active');
    o.applyUpdates({ updated_at: '2026-11-24T05:29:42Z', obj_what_changed: ['updated_at'] });
    expect(o.get('updated_at')).toBe('2026-11-24T05:29:42Z');
    expect(o.has('obj_what_changed')).toBe(false);
    expect(o.toPrimitive()['nova_object.changes']).toBeUndefined();
  });

  it('refuses what is not the expected object', () => {
    expect(() => NovaObject.fromPrimitive({ a: 1 }, 'Instance')).toThrow(InvalidNovaObjectError);
    expect(() => NovaObject.fromPrimitive({ ...instance, 'nova_object.name': 'Flavor' }, 'Instance')).toThrow('expected a Instance object, got Flavor');
    expect(() => NovaObject.fromPrimitive({ ...instance, 'nova_object.namespace': 'other' })).toThrow('namespace');
    const o = NovaObject.fromPrimitive(instance);
    expect(() => o.int('uuid')).toThrow('Instance.uuid must be an integer');
    expect(() => o.obj('uuid')).toThrow('must be a nova object');
  });

  it('lists the objects of an XxxList', () => {
    const list = NovaObject.fromPrimitive({
      'nova_object.name': 'BlockDeviceMappingList',
      'nova_object.version': '1.18',
      'nova_object.data': { objects: [{ 'nova_object.name': 'BlockDeviceMapping', 'nova_object.version': '1.21', 'nova_object.data': { id: 1 } }] },
    });
    expect(listObjects(list).map((b) => b.int('id'))).toEqual([1]);
  });

  it('formats DateTimeField as nova does (no fraction, Z)', () => {
    expect(novaDateTime(new Date('2026-11-24T05:14:49.123Z'))).toBe('2026-11-24T05:14:49Z');
  });
});
