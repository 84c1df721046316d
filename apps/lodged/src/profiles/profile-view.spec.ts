import { profileEtag, toApiProfile } from './profile-view';

describe('profile view', () => {
  const row = { id: 1, project: 'default', name: 'p', description: 'd', config: { b: '2', a: '1' }, devices: { z: { type: 'none' } } };

  it('renders api.Profile with instance URLs in used_by', () => {
    expect(toApiProfile(row, ['c1', 'c2'])).toEqual({
      config: { a: '1', b: '2' },
      description: 'd',
      devices: { z: { type: 'none' } },
      name: 'p',
      used_by: ['/1.0/instances/c1', '/1.0/instances/c2'],
    });
  });

  it('hashes config, description and devices independently of key order', () => {
    const a = profileEtag({ config: { a: '1', b: '2' }, description: 'd', devices: { x: { type: 'disk', path: '/m', source: '/s' } } });
    const b = profileEtag({ config: { b: '2', a: '1' }, description: 'd', devices: { x: { source: '/s', type: 'disk', path: '/m' } } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(profileEtag({ config: { a: '1', b: '2' }, description: 'e', devices: {} })).not.toBe(a);
  });
});
