import { InvalidArgumentError } from '@lodge/common';
import { parseProfilePatch, parseProfilePut, parseProfileRename, parseProfilesPost, validateProfileName } from './profile-request';

describe('profile requests', () => {
  it('reads a create request; null config and devices (Go nil maps) are empty', () => {
    expect(parseProfilesPost({ name: 'p', description: null, config: null, devices: null })).toEqual({
      name: 'p',
      description: '',
      config: {},
      devices: {},
    });
    expect(parseProfilesPost({ name: 'p', config: { 'limits.cpu': '2' }, devices: { d: { type: 'none' } } })).toEqual({
      name: 'p',
      description: '',
      config: { 'limits.cpu': '2' },
      devices: { d: { type: 'none' } },
    });
  });

  it('refuses names as LXD 5.0 does', () => {
    expect(() => validateProfileName('')).toThrow('No name provided');
    expect(() => validateProfileName(undefined)).toThrow('No name provided');
    expect(() => validateProfileName('a/b')).toThrow('Profile names may not contain slashes');
    expect(() => validateProfileName('.')).toThrow("Invalid profile name '.'");
    expect(() => validateProfileName('..')).toThrow("Invalid profile name '..'");
    expect(() => validateProfileName(7)).toThrow(InvalidArgumentError);
    expect(() => validateProfileName('juju-model-1')).not.toThrow();
    expect(parseProfileRename({ name: 'new' })).toBe('new');
    expect(() => parseProfileRename({})).toThrow('No name provided');
  });

  it('validates config keys and devices with the instance rules, no volatile keys', () => {
    expect(() => parseProfilesPost({ name: 'p', config: { 'limits.bogus': '1' } })).toThrow('Unknown configuration key: limits.bogus');
    expect(() => parseProfilesPost({ name: 'p', config: { 'volatile.uuid': 'x' } })).toThrow('Volatile keys are not allowed in profiles');
    expect(() => parseProfilesPost({ name: 'p', config: { 'limits.cpu': 2 } })).toThrow(/values must be strings/);
    expect(() => parseProfilesPost({ name: 'p', devices: { d: { type: 'warp' } } })).toThrow('Invalid device type "warp"');
    expect(() => parseProfilesPost({ name: 'p', config: [] })).toThrow('Invalid config');
    expect(() => parseProfilesPost({ name: 'p', description: 3 })).toThrow('Invalid description');
    expect(() => parseProfilesPost('p')).toThrow('Invalid request body');
  });

  it('PUT replaces everything and drops empty ("unset") values', () => {
    expect(parseProfilePut({ config: { 'user.a': '', 'user.b': 'x' } })).toEqual({ config: { 'user.b': 'x' }, description: '', devices: {} });
  });

  it('PATCH merges config keys and whole devices, keeps the description unless given, and unsets empty values', () => {
    const current = {
      config: { 'user.a': '1', 'user.b': '2' },
      description: 'kept',
      devices: { d1: { type: 'disk', source: '/srv', path: '/a' }, d2: { type: 'none' } },
    };
    const merged = parseProfilePatch({ config: { 'user.b': '', 'user.c': '3' }, devices: { d1: { type: 'disk', source: '/srv', path: '/b' } } }, current);
    expect(merged).toEqual({
      config: { 'user.a': '1', 'user.c': '3' },
      description: 'kept',
      devices: { d1: { type: 'disk', source: '/srv', path: '/b' }, d2: { type: 'none' } },
    });
    expect(parseProfilePatch({ description: '' }, current).description).toBe('');
    expect(current.config).toEqual({ 'user.a': '1', 'user.b': '2' });
  });
});
