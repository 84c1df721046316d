/**
 * A streaming multipart/form-data reader for image uploads (`lxc image import meta rootfs`) and
 * the parser behind the export test helpers. Parts are read in order, each as a stream that must
 * be consumed (or is skipped) before the next one: image files go straight to disk, never whole
 * into memory. Only what LXD's clients send is supported: Content-Disposition form-data parts.
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '@lodge/common';

export interface MultipartPart {
  /** the form field name (`metadata`, `rootfs`) */
  name: string;
  /** the file name the client gave, '' when none */
  filename: string;
  stream: Readable;
}

const MAX_HEADER_BYTES = 16 << 10;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a `multipart/form-data; boundary=...` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';');
  if (type.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (value.length > 0 && value.length <= 70) return value;
  }
  throw new InvalidArgumentError('Invalid multipart image: no boundary in the content type');
}

export class MultipartReader {
  private readonly source: AsyncIterator<Buffer>;
  /** "\r\n--boundary": what ends a part body */
  private readonly delimiter: Buffer;
  // a CRLF in front, so the first delimiter looks like every other one
  private buf: Buffer = Buffer.from(CRLF);
  private ended = false;
  private started = false;
  private finished = false;
  private current?: Readable;

  constructor(body: AsyncIterable<Buffer | string>, boundary: string) {
    this.source = (async function* () {
      for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    })();
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** The next part, or undefined after the closing delimiter. Skips what is left of the previous part. */
  async next(): Promise<MultipartPart | undefined> {
    if (this.current) {
      const previous = this.current;
      this.current = undefined;
      for await (const _ of previous) {
        // discarded: the caller did not want the rest of this part
      }
    }
    if (this.finished) return undefined;
    if (!this.started) {
      await this.skipPreamble();
      this.started = true;
    }
    // after a delimiter: "--" closes the body, otherwise CRLF and the part's headers
    await this.need(2);
    if (this.buf.subarray(0, 2).toString('latin1') === '--') {
      this.finished = true;
      return undefined;
    }
    const headers = await this.readHeaders();
    const disposition = headers.get('content-disposition') ?? '';
    const name = dispositionParam(disposition, 'name');
    if (!/^form-data\b/i.test(disposition) || name === undefined) throw invalid('a part has no form-data Content-Disposition');
    const stream = Readable.from(this.body(), { objectMode: false });
    this.current = stream;
    return { name, filename: dispositionParam(disposition, 'filename') ?? '', stream };
  }

  private async skipPreamble(): Promise<void> {
    for (;;) {
      const at = this.buf.indexOf(this.delimiter);
      if (at >= 0) {
        this.buf = this.buf.subarray(at + this.delimiter.length);
        return;
      }
      if (this.buf.length > MAX_HEADER_BYTES) throw invalid('no opening boundary');
      if (!(await this.fill())) throw invalid('no opening boundary');
    }
  }

  private async readHeaders(): Promise<Map<string, string>> {
    for (;;) {
      const end = this.buf.indexOf(HEADER_END);
      if (end >= 0) {
        // the line after the delimiter (transport padding, then CRLF) starts the header block
        const block = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + HEADER_END.length);
        const lines = block.split('\r\n');
        if (lines[0].trim() !== '') throw invalid('garbage after a boundary');
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon <= 0) throw invalid(`bad part header "${line.slice(0, 80)}"`);
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        return headers;
      }
      if (this.buf.length > MAX_HEADER_BYTES) throw invalid('part headers too large');
      if (!(await this.fill())) throw invalid('the body ended inside part headers');
    }
  }

  /** The bytes of the current part up to the next delimiter. */
  private async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      const at = this.buf.indexOf(this.delimiter);
      if (at >= 0) {
        if (at > 0) yield this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + this.delimiter.length);
        return;
      }
      // keep a tail that could be the start of a delimiter split across chunks
      const safe = this.buf.length - (this.delimiter.length - 1);
      if (safe > 0) {
        const out = this.buf.subarray(0, safe);
        this.buf = this.buf.subarray(safe);
        yield out;
      }
      if (!(await this.fill())) throw invalid('the body ended inside a part');
    }
  }

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) if (!(await this.fill())) throw invalid('the body ended before the closing boundary');
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.source.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }
}

/** A parameter of a Content-Disposition value (quoted or token). */
function dispositionParam(value: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|;)\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(value);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

function invalid(why: string): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid multipart image: ${why}`);
}

/**
 * The framing Go's multipart.Writer puts around form files (CreateFormFile): `heads[i]` goes
 * before the bytes of file i, `tail` after the last one. Lets a response stream files from disk
 * with an exact Content-Length.
 */
export function multipartFraming(boundary: string, files: ReadonlyArray<{ name: string; filename: string }>): { heads: Buffer[]; tail: Buffer } {
  const heads = files.map((f, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${quote(f.name)}"; filename="${quote(f.filename)}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
  );
  return { heads, tail: Buffer.from(`\r\n--${boundary}--\r\n`) };
}

function quote(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
