import { Readable, Writable } from 'node:stream';
import { boundaryOf, multipartFraming, PartHead, streamMultipart } from './multipart';

/** Feeds `body` in chunks of `size` bytes and collects each part's bytes. */
async function parse(body: Buffer, boundary: string, size: number) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
  const got: Array<PartHead & { data: Buffer }> = [];
  await streamMultipart(Readable.from(chunks), boundary, (head) => {
    const part = { ...head, data: Buffer.alloc(0) };
    got.push(part);
    return new Writable({
      write(c: Buffer, _e, cb) {
        part.data = Buffer.concat([part.data, c]);
        cb();
      },
    });
  });
  return got;
}

describe('multipart for split images', () => {
  it('frames parts that stream back byte for byte, however the body is chunked', async () => {
    const meta = Buffer.from('metadata bytes\r\n--not-a-boundary');
    const rootfs = Buffer.from([0, 1, 2, 13, 10, 255]);
    const { heads, tail } = multipartFraming('B0UND', [
      { name: 'metadata', filename: 'meta.tar.xz' },
      { name: 'rootfs', filename: 'rootfs.squashfs' },
    ]);
    const body = Buffer.concat([heads[0], meta, heads[1], rootfs, tail]);
    for (const size of [1, 3, 7, 64, body.length]) {
      expect(await parse(body, 'B0UND', size)).toEqual([
        { name: 'metadata', filename: 'meta.tar.xz', data: meta },
        { name: 'rootfs', filename: 'rootfs.squashfs', data: rootfs },
      ]);
    }
  });

  it('reads the boundary of a multipart content type only', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc123')).toBe('abc123');
    expect(boundaryOf('multipart/form-data; boundary="q u"')).toBe('q u');
    expect(boundaryOf('application/octet-stream')).toBeUndefined();
    expect(boundaryOf(undefined)).toBeUndefined();
  });

  it('refuses a body that ends before its closing boundary', async () => {
    await expect(parse(Buffer.from('garbage'), 'B', 4)).rejects.toThrow('Invalid multipart body: it ended before its closing boundary');
    const { heads } = multipartFraming('B', [{ name: 'metadata', filename: 'm' }]);
    await expect(parse(Buffer.concat([heads[0], Buffer.from('cut short')]), 'B', 5)).rejects.toThrow('ended before its closing boundary');
  });
});
