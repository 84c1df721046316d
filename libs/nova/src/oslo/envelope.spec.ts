import { asciiJson, decodeEnvelope, encodeEnvelope, MalformedMessageError, RecentIds } from './envelope';
import { versionIsCompatible, ValueError } from './versions';

describe('oslo envelope', () => {
  it('wraps the inner message as a JSON string, escaping non-ASCII as Python does', () => {
    const body = encodeEnvelope({ method: 'ping', args: { arg: 'café ☃' } });
    expect(body.toString('ascii')).toBe('{"oslo.version":"2.0","oslo.message":"{\\"method\\":\\"ping\\",\\"args\\":{\\"arg\\":\\"caf\\\\u00e9 \\\\u2603\\"}}"}');
    expect(decodeEnvelope(body)).toEqual({ method: 'ping', args: { arg: 'café ☃' } });
  });

  it('reads the bodies oslo sends (spaces after separators) and un-enveloped messages', () => {
    const oslo = Buffer.from('{"oslo.version": "2.0", "oslo.message": "{\\"method\\": \\"get_host_uptime\\", \\"args\\": {}}"}');
    expect(decodeEnvelope(oslo)).toEqual({ method: 'get_host_uptime', args: {} });
    expect(decodeEnvelope(Buffer.from('{"method":"x"}'))).toEqual({ method: 'x' });
    // only a body with both envelope keys is an envelope (oslo's deserialize_msg)
    expect(decodeEnvelope(Buffer.from('{"oslo.version":"2.0","method":"x"}'))).toEqual({ 'oslo.version': '2.0', method: 'x' });
  });

  it.each([
    ['not json', 'body is not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"oslo.version":"3.0","oslo.message":"{}"}', 'unsupported oslo envelope version'],
    ['{"oslo.version":"2.1","oslo.message":"{}"}', 'unsupported oslo envelope version'],
    ['{"oslo.version":"two","oslo.message":"{}"}', 'unsupported oslo envelope version'],
    ['{"oslo.version":2,"oslo.message":"{}"}', 'unsupported oslo envelope version'],
    ['{"oslo.version":null,"oslo.message":"{}"}', 'unsupported oslo envelope version'],
    ['{"oslo.version":"2.0","oslo.message":{}}', 'oslo.message is not a string'],
    ['{"oslo.version":"2.0","oslo.message":"{bad"}', 'oslo.message is not JSON'],
    ['{"oslo.version":"2.0","oslo.message":"[]"}', 'oslo.message is not a JSON object'],
  ])('refuses %s', (body, why) => {
    expect(() => decodeEnvelope(Buffer.from(body))).toThrow(MalformedMessageError);
    expect(() => decodeEnvelope(Buffer.from(body))).toThrow(why);
  });

  it('escapes exactly like json.dumps(ensure_ascii=True) for astral characters (surrogate pairs)', () => {
    expect(asciiJson('😀')).toBe('"\\ud83d\\ude00"');
  });

  it('drops a _unique_id seen among the last 16', () => {
    const ids = new RecentIds();
    expect(ids.seen('a')).toBe(false);
    expect(ids.seen('a')).toBe(true);
    for (let i = 0; i < 16; i++) ids.seen(`x${i}`);
    expect(ids.seen('a')).toBe(false);
    expect(ids.seen(undefined)).toBe(false);
  });
});

describe('oslo version compatibility', () => {
  it.each([
    ['6.1', '6.0', true],
    ['6.1', '6.1', true],
    ['6.1', '6.2', false],
    ['6.1', '5.13', false],
    ['6.1', '7.0', false],
    ['1.1', '1.1.1', false],
    ['1.1.2', '1.1.1', true],
  ])('endpoint %s serves %s: %s', (have, want, ok) => {
    expect(versionIsCompatible(have, want)).toBe(ok);
  });

  it('a missing endpoint version serves all; a missing request version none', () => {
    expect(versionIsCompatible(null, '9.9')).toBe(true);
    expect(versionIsCompatible('6.1', null)).toBe(false);
  });

  it('a version that is not numbers is a ValueError, as int() raises in oslo', () => {
    expect(() => versionIsCompatible('6.1', 'six')).toThrow(ValueError);
  });
});
