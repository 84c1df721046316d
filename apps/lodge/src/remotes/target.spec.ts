import { parseTarget } from './target';
import { normalizeRemoteUrl } from './server-certificate';

describe('[remote:]name arguments', () => {
  it('splits at the first colon', () => {
    expect(parseTarget('c1')).toEqual({ name: 'c1' });
    expect(parseTarget('srv:c1')).toEqual({ remote: 'srv', name: 'c1' });
    expect(parseTarget('srv:')).toEqual({ remote: 'srv', name: '' });
    expect(parseTarget('srv:a:b')).toEqual({ remote: 'srv', name: 'a:b' });
  });

  it('a leading colon is not an empty remote', () => {
    expect(parseTarget(':c1')).toEqual({ name: ':c1' });
  });
});

describe('remote addresses', () => {
  it('default to https and port 8443, as lxc does', () => {
    expect(normalizeRemoteUrl('10.0.0.1')).toBe('https://10.0.0.1:8443');
    expect(normalizeRemoteUrl('host.example:9443')).toBe('https://host.example:9443');
    expect(normalizeRemoteUrl('https://[::1]')).toBe('https://[::1]:8443');
    expect(normalizeRemoteUrl('https://127.0.0.1:1234/')).toBe('https://127.0.0.1:1234');
  });

  it('refuses other schemes', () => {
    expect(() => normalizeRemoteUrl('http://host')).toThrow('Unsupported remote address http://host');
  });
});
