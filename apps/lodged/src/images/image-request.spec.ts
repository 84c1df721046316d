import { InvalidArgumentError, NotSupportedError } from '@lodge/common';
import { parseAliasPatch, parseAliasPost, parseAliasRename, parseImagePatch, parseImagePut, parseUploadHeaders } from './image-request';

describe('upload headers', () => {
  it('reads X-LXD-* as LXD does', () => {
    expect(
      parseUploadHeaders({
        'x-lxd-fingerprint': 'ab'.repeat(32),
        'x-lxd-filename': 'image.tar.xz',
        'x-lxd-public': 'YES',
        'x-lxd-properties': 'os=Debian&description=a%20b',
      }),
    ).toEqual({ expectedFingerprint: 'ab'.repeat(32), filename: 'image.tar.xz', public: true, properties: { os: 'Debian', description: 'a b' } });
    expect(parseUploadHeaders({})).toEqual({ expectedFingerprint: undefined, filename: undefined, public: false, properties: {} });
    expect(parseUploadHeaders({ 'x-lxd-public': 'false' }).public).toBe(false);
  });
});

describe('image PUT / PATCH bodies', () => {
  it('PUT replaces every writable field; Go zero time means no expiry', () => {
    expect(parseImagePut({ public: true, properties: { a: 'b' }, expires_at: '0001-01-01T00:00:00Z', profiles: ['default'] })).toEqual({
      public: true,
      autoUpdate: false,
      properties: { a: 'b' },
      expiresAt: null,
    });
    expect(parseImagePut({ expires_at: '2030-01-02T03:04:05Z' }).expiresAt).toEqual(new Date('2030-01-02T03:04:05Z'));
  });

  it('PATCH merges properties and leaves absent fields alone', () => {
    expect(parseImagePatch({ properties: { b: '2' } }, { a: '1', b: '1' })).toEqual({
      public: undefined,
      autoUpdate: undefined,
      properties: { a: '1', b: '2' },
      expiresAt: undefined,
    });
  });

  it('refuses wrong types and per-image profiles', () => {
    expect(() => parseImagePut({ public: 'yes' })).toThrow(new InvalidArgumentError('Invalid public: expected true or false'));
    expect(() => parseImagePut({ properties: { a: 1 } })).toThrow(InvalidArgumentError);
    expect(() => parseImagePut({ expires_at: 'tomorrow' })).toThrow(InvalidArgumentError);
    expect(() => parseImagePut([])).toThrow(InvalidArgumentError);
    expect(() => parseImagePatch({ profiles: ['default', 'extra'] }, {})).toThrow(NotSupportedError);
  });
});

describe('alias bodies', () => {
  it('POST needs name and target (LXD wording)', () => {
    expect(parseAliasPost({ name: 'juju/ubuntu@22.04/amd64', target: 'abc' })).toEqual({ name: 'juju/ubuntu@22.04/amd64', target: 'abc', description: '' });
    expect(() => parseAliasPost({ name: 'x' })).toThrow('name and target are required');
    expect(() => parseAliasPost({ name: 'a\nb', target: 'abc' })).toThrow(/Invalid alias name/);
  });

  it('PATCH refuses an empty target; rename needs a name', () => {
    expect(parseAliasPatch({ description: 'd' })).toEqual({ target: undefined, description: 'd' });
    expect(() => parseAliasPatch({ target: '' })).toThrow('The target field is required');
    expect(() => parseAliasRename({})).toThrow('name is required');
  });
});
