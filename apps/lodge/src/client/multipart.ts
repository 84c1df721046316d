/**
 * multipart/form-data as LXD uses it for split images: upload with the parts `metadata` then
 * `rootfs`, and the export download of the same two parts.
 */
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';

export interface PartHead {
  name: string;
  filename: string;
}

/** The framing around each part (heads[i] goes before part i) and the closing tail. */
export function multipartFraming(boundary: string, parts: readonly PartHead[]): { heads: Buffer[]; tail: Buffer } {
  const heads = parts.map((p, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
  );
  return { heads, tail: Buffer.from(`\r\n--${boundary}--\r\n`) };
}

export function newBoundary(): string {
  return randomBytes(24).toString('hex');
}

/** The boundary of a multipart Content-Type, or undefined for any other type. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Streams a multipart body part by part: `open` gives the destination of each part (from its
 * head), which gets the part's bytes as they arrive. Nothing is held in memory beyond one
 * delimiter's length, so image exports of any size are written straight to disk.
 */
export async function streamMultipart(body: Readable, boundary: string, open: (head: PartHead) => Writable): Promise<PartHead[]> {
  const first = Buffer.from(`--${boundary}`);
  const delim = Buffer.from(`\r\n--${boundary}`);
  const seen: PartHead[] = [];
  let buf: Buffer = Buffer.alloc(0);
  // a box, not a variable: the steps change it inside a closure, out of TypeScript's narrowing
  const st: { state: 'preamble' | 'head' | 'data' | 'done' } = { state: 'preamble' };
  let out: Writable | undefined;
  const write = async (chunk: Buffer) => {
    if (chunk.length && out && !out.write(chunk)) await new Promise((r) => out!.once('drain', r));
  };
  const finish = async () => {
    if (!out) return;
    const w = out;
    out = undefined;
    await new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.end(resolve);
    });
  };
  const step = async (): Promise<boolean> => {
    if (st.state === 'preamble') {
      const i = buf.indexOf(first);
      if (i < 0) return false;
      buf = buf.subarray(i + first.length);
      st.state = 'head';
      return true;
    }
    if (st.state === 'head') {
      if (buf.length < 2) return false;
      if (buf.subarray(0, 2).toString() === '--') {
        st.state = 'done';
        return false;
      }
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = buf.subarray(2, end).toString('utf8');
      const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
      const part = { name: /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '', filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? '' };
      seen.push(part);
      out = open(part);
      buf = buf.subarray(end + 4);
      st.state = 'data';
      return true;
    }
    if (st.state === 'data') {
      const i = buf.indexOf(delim);
      if (i < 0) {
        // keep what could be the start of a delimiter split across chunks
        const keep = Math.min(buf.length, delim.length - 1);
        await write(buf.subarray(0, buf.length - keep));
        buf = buf.subarray(buf.length - keep);
        return false;
      }
      await write(buf.subarray(0, i));
      await finish();
      buf = buf.subarray(i + delim.length);
      st.state = 'head';
      return true;
    }
    return false;
  };
  try {
    for await (const chunk of body) {
      buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
      while (await step());
    }
    while (await step());
    if (st.state !== 'done') throw new Error('Invalid multipart body: it ended before its closing boundary');
    return seen;
  } finally {
    out?.destroy();
  }
}
