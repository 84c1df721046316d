import { boundaryOf, multipartFraming, parseMultipart } from './multipart';

describe('multipart for split images', () => {
  it('frames parts that parse back byte for byte', () => {
    const meta = Buffer.from('metadata bytes\r\n--not-a-boundary');
    const rootfs = Buffer.from([0, 1, 2, 13, 10, 255]);
    const { heads, tail } = multipartFraming('B0UND', [
      { name: 'metadata', filename: 'meta.tar.xz' },
      { name: 'rootfs', filename: 'rootfs.squashfs' },
    ]);
    const body = Buffer.concat([heads[0], meta, heads[1], rootfs, tail]);
    expect(parseMultipart(body, 'B0UND')).toEqual([
      { name: 'metadata', filename: 'meta.tar.xz', data: meta },
      { name: 'rootfs', filename: 'rootfs.squashfs', data: rootfs },
    ]);
  });

  it('reads the boundary of a multipart content type only', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc123')).toBe('abc123');
    expect(boundaryOf('multipart/form-data; boundary="q u"')).toBe('q u');
    expect(boundaryOf('application/octet-stream')).toBeUndefined();
    expect(boundaryOf(undefined)).toBeUndefined();
  });

  it('refuses a body without the boundary', () => {
    expect(() => parseMultipart(Buffer.from('garbage'), 'B')).toThrow('Invalid multipart body: no boundary');
  });
});
