/**
 * multipart/form-data as LXD uses it for split images: upload with the parts `metadata` then
 * `rootfs`, and the export download of the same two parts.
 */
import { randomBytes } from 'node:crypto';

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

export interface Part extends PartHead {
  data: Buffer;
}

/** Splits a whole multipart body into its parts. */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error('Invalid multipart body: no boundary');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return parts;
    pos += 2; // CRLF after the boundary line
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw new Error('Invalid multipart body: unterminated part head');
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw new Error('Invalid multipart body: unterminated part');
    const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
    parts.push({
      name: /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '',
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? '',
      data: body.subarray(headEnd + 4, next),
    });
    pos = next + 2;
  }
}
