import { decodeCertificateAddToken, encodeCertificateAddToken } from './certificate';

describe('certificate add tokens', () => {
  const token = { client_name: 't1', fingerprint: 'ab'.repeat(32), addresses: ['127.0.0.1:8443'], secret: 'cd'.repeat(32) };

  it('is base64 of the JSON in LXD 5.0 field order and decodes back', () => {
    const text = encodeCertificateAddToken(token);
    expect(Buffer.from(text, 'base64').toString()).toBe(JSON.stringify(token));
    expect(decodeCertificateAddToken(text)).toEqual(token);
  });

  it('plain passwords and incomplete tokens are not tokens', () => {
    expect(decodeCertificateAddToken('s3cret')).toBeUndefined();
    expect(decodeCertificateAddToken(Buffer.from('{"secret":"x"}').toString('base64'))).toBeUndefined();
    expect(decodeCertificateAddToken(Buffer.from('[]').toString('base64'))).toBeUndefined();
  });
});
