import { placementOptionsFromEnv } from './placement-options';

describe('placementOptionsFromEnv', () => {
  const url = 'http://controller:8778';

  it('a fixed token wins', () => {
    expect(placementOptionsFromEnv(url, { LODGE_PLACEMENT_TOKEN: 't0k', LODGE_KEYSTONE_AUTH_URL: 'http://ks:5000' })).toEqual({ url, token: 't0k' });
  });

  it('keystone password auth from the LODGE_KEYSTONE_* variables', () => {
    expect(
      placementOptionsFromEnv(url, {
        LODGE_KEYSTONE_AUTH_URL: 'http://ks:5000/v3',
        LODGE_KEYSTONE_USERNAME: 'nova',
        LODGE_KEYSTONE_PASSWORD: 'pw',
        LODGE_KEYSTONE_PROJECT_NAME: 'service',
        LODGE_KEYSTONE_USER_DOMAIN_NAME: 'users',
      }),
    ).toEqual({ url, keystone: { authUrl: 'http://ks:5000/v3', username: 'nova', password: 'pw', projectName: 'service', userDomainName: 'users', projectDomainName: undefined } });
  });

  it('says what is missing', () => {
    expect(() => placementOptionsFromEnv(url, {})).toThrow(/LODGE_PLACEMENT_TOKEN or LODGE_KEYSTONE_AUTH_URL/);
    expect(() => placementOptionsFromEnv(url, { LODGE_KEYSTONE_AUTH_URL: 'http://ks:5000', LODGE_KEYSTONE_USERNAME: 'nova' })).toThrow(
      /LODGE_KEYSTONE_PASSWORD, LODGE_KEYSTONE_PROJECT_NAME/,
    );
    expect(() => placementOptionsFromEnv('controller:8778', { LODGE_PLACEMENT_TOKEN: 't' })).toThrow(/not an http\(s\) URL/);
  });
});
