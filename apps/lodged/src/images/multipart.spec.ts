import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MultipartReader, multipartBoundary, multipartFraming } from './multipart';

const B = 'XyZboundary123';

function body(parts: Array<{ name: string; filename?: string; data: Buffer }>, boundary = B): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const fn = p.filename !== undefined ? `; filename="${p.filename}"` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${fn}\r\nContent-Type: application/octet-stream\r\n\r\n`));
    chunks.push(p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The body as a stream of `size`-byte chunks, so delimiters straddle chunk edges. */
function chunked(buf: Buffer, size: number): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return Readable.from(out);
}

async function readAll(reader: MultipartReader) {
  const parts: Array<{ name: string; filename: string; data: Buffer }> = [];
  for (let p = await reader.next(); p; p = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const c of p.stream) chunks.push(c as Buffer);
    parts.push({ name: p.name, filename: p.filename, data: Buffer.concat(chunks) });
  }
  return parts;
}

describe('MultipartReader', () => {
  // binary data holding CR, LF and a near-delimiter, which must not end the part
  const meta = Buffer.concat([randomBytes(3000), Buffer.from(`\r\n--${B.slice(0, 5)}\r\n`), randomBytes(100)]);
  const rootfs = randomBytes(70_000);
  const whole = body([
    { name: 'metadata', filename: 'meta.tar.xz', data: meta },
    { name: 'rootfs', filename: 'rootfs.squashfs', data: rootfs },
  ]);

  it.each([1, 7, 64, 4096, whole.length])('returns both parts byte for byte with %i-byte chunks', async (size) => {
    const parts = await readAll(new MultipartReader(chunked(whole, size), B));
    expect(parts.map((p) => [p.name, p.filename])).toEqual([
      ['metadata', 'meta.tar.xz'],
      ['rootfs', 'rootfs.squashfs'],
    ]);
    expect(parts[0].data.equals(meta)).toBe(true);
    expect(parts[1].data.equals(rootfs)).toBe(true);
  });

  it('skips an unread part when asked for the next one', async () => {
    const reader = new MultipartReader(chunked(whole, 1000), B);
    expect((await reader.next())?.name).toBe('metadata');
    const second = await reader.next();
    expect(second?.name).toBe('rootfs');
    const chunks: Buffer[] = [];
    for await (const c of second!.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(rootfs)).toBe(true);
    expect(await reader.next()).toBeUndefined();
  });

  it('refuses a body cut inside a part', async () => {
    const reader = new MultipartReader(chunked(whole.subarray(0, 2000), 100), B);
    const part = await reader.next();
    const drain = async () => {
      for await (const _ of part!.stream) {
        // read to the (missing) end
      }
    };
    await expect(drain()).rejects.toThrow(/Invalid multipart image: the body ended inside a part/);
  });

  it('refuses a body without the boundary', async () => {
    await expect(new MultipartReader(chunked(Buffer.from('just bytes'), 3), B).next()).rejects.toThrow(/no opening boundary/);
  });

  it('reads the boundary from the content type', () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(multipartBoundary(`multipart/form-data; boundary="${B}"`)).toBe(B);
    expect(multipartBoundary('application/octet-stream')).toBeUndefined();
    expect(() => multipartBoundary('multipart/form-data')).toThrow(/no boundary/);
  });
});

describe('multipartFraming', () => {
  it('frames files so that MultipartReader reads them back', async () => {
    const a = randomBytes(5000);
    const b = randomBytes(1234);
    const { heads, tail } = multipartFraming(B, [
      { name: 'metadata', filename: 'meta-x.tar.xz' },
      { name: 'rootfs', filename: 'x.squashfs' },
    ]);
    const whole = Buffer.concat([heads[0], a, heads[1], b, tail]);
    const parts = await readAll(new MultipartReader(chunked(whole, 333), B));
    expect(parts.map((p) => [p.name, p.filename, p.data.length])).toEqual([
      ['metadata', 'meta-x.tar.xz', a.length],
      ['rootfs', 'x.squashfs', b.length],
    ]);
    expect(parts[0].data.equals(a) && parts[1].data.equals(b)).toBe(true);
  });
});
