import { createHash } from 'node:crypto';
import { API_EXTENSIONS, asyncEnvelope, errorEnvelope, etagHash, etagMatches, goJson, sortedKeys, StatusCode, statusText, syncEnvelope } from './index';

describe('envelopes', () => {
  it('sync/async/error carry all seven keys in LXD order', () => {
    const keys = ['type', 'status', 'status_code', 'operation', 'error_code', 'error', 'metadata'];
    expect(Object.keys(syncEnvelope(null))).toEqual(keys);
    expect(Object.keys(errorEnvelope(404, 'not found'))).toEqual(keys);
    const op = { id: 'abc' } as never;
    expect(asyncEnvelope(op)).toEqual({ type: 'async', status: 'Operation created', status_code: 100, operation: '/1.0/operations/abc', error_code: 0, error: '', metadata: op });
    expect(JSON.stringify(errorEnvelope(404, 'not found'))).toBe('{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"not found","metadata":null}');
  });

  it('status codes', () => {
    expect(statusText(StatusCode.Running)).toBe('Running');
    expect(statusText(StatusCode.Cancelled)).toBe('Cancelled');
    expect(StatusCode.Failure).toBe(400);
  });
});

describe('etag (Go json.Encoder + sha256)', () => {
  it('encodes like Go: HTML-safe escapes, sorted maps via sortedKeys, trailing newline in the hash', () => {
    expect(goJson({ b: '<&>', a: [1, true, null] })).toBe('{"b":"\\u003c\\u0026\\u003e","a":[1,true,null]}');
    expect(goJson(sortedKeys({ z: '1', a: '2' }))).toBe('{"a":"2","z":"1"}');
    expect(etagHash({})).toBe(createHash('sha256').update('{}\n').digest('hex'));
  });

  it('If-Match: absent passes, quotes are trimmed', () => {
    const h = etagHash({ a: 1 });
    expect(etagMatches(undefined, h)).toBe(true);
    expect(etagMatches(`"${h}"`, h)).toBe(true);
    expect(etagMatches(h, h)).toBe(true);
    expect(etagMatches('"nope"', h)).toBe(false);
  });
});

describe('api_extensions', () => {
  it('is a frozen list of unique names', () => {
    expect(Object.isFrozen(API_EXTENSIONS)).toBe(true);
    expect(new Set(API_EXTENSIONS).size).toBe(API_EXTENSIONS.length);
  });
});
