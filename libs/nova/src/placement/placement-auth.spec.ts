import { keystoneTokenRequest, tokenStillUsable } from './placement-auth';

describe('keystone tokens', () => {
  it('a cached token is renewed five minutes before it expires, and one without expiry is not kept', () => {
    const expires = Date.parse('2030-01-01T12:00:00Z');
    expect(tokenStillUsable(expires, Date.parse('2030-01-01T11:54:00Z'))).toBe(true);
    expect(tokenStillUsable(expires, Date.parse('2030-01-01T11:56:00Z'))).toBe(false);
    expect(tokenStillUsable(NaN, 0)).toBe(false);
  });

  it('logs in with the password method scoped to the project, on /v3/auth/tokens', () => {
    const o = { username: 'nova', password: 's3cret', projectName: 'service' };
    expect(keystoneTokenRequest({ ...o, authUrl: 'http://ks:5000/' }).url).toBe('http://ks:5000/v3/auth/tokens');
    const { url, body } = keystoneTokenRequest({ ...o, authUrl: 'http://ks:5000/v3', userDomainName: 'users' });
    expect(url).toBe('http://ks:5000/v3/auth/tokens');
    expect(body).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'nova', domain: { name: 'users' }, password: 's3cret' } } },
        scope: { project: { name: 'service', domain: { name: 'Default' } } },
      },
    });
  });
});
