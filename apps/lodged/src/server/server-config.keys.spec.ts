import { hashPassword, validateListenAddress, verifyPassword } from './server-config.keys';

describe('server config keys', () => {
  it.each(['', ':8443', '127.0.0.1', '127.0.0.1:18443', '[::]', '[::]:8443', '::', '[::1]:8443', 'lodge.example.com:8443', '0.0.0.0'])(
    'accepts listen address %p',
    (a) => expect(validateListenAddress(a)).toBeUndefined(),
  );
  it.each(['not an address', '127.0.0.1:0', '127.0.0.1:99999', '[::1', '[zz]:1', 'host:port'])('refuses %p', (a) =>
    expect(validateListenAddress(a)).toMatch(/Invalid listen address/),
  );
  it('hashes and verifies trust passwords', () => {
    const h = hashPassword('pw');
    expect(h).not.toContain('pw');
    expect(verifyPassword('pw', h)).toBe(true);
    expect(verifyPassword('px', h)).toBe(false);
  });
});
