import { formatHostPort, listenAddresses, parseListenAddress } from './listen-address';

describe('listen addresses (core.https_address)', () => {
  it.each([
    ['127.0.0.1', { host: '127.0.0.1', port: 8443 }],
    ['127.0.0.1:18443', { host: '127.0.0.1', port: 18443 }],
    [':9443', { host: '', port: 9443 }],
    ['0.0.0.0', { host: '0.0.0.0', port: 8443 }],
    ['[::]', { host: '::', port: 8443 }],
    ['[::]:8443', { host: '::', port: 8443 }],
    ['::', { host: '::', port: 8443 }],
    ['[::1]:7443', { host: '::1', port: 7443 }],
    ['lodge.example.com:8443', { host: 'lodge.example.com', port: 8443 }],
  ])('parses %p', (value, target) => expect(parseListenAddress(value)).toEqual(target));

  it.each(['', 'not an address', '127.0.0.1:0', '[::1'])('refuses %p', (value) => expect(() => parseListenAddress(value)).toThrow());

  it('formats IPv6 with brackets', () => {
    expect(formatHostPort('::1', 8443)).toBe('[::1]:8443');
    expect(formatHostPort('10.0.0.1', 8443)).toBe('10.0.0.1:8443');
  });

  it('lists a specific bind as itself and a wildcard as the host addresses, loopback last', () => {
    expect(listenAddresses({ host: '127.0.0.1', port: 1 }, 'IPv4', 1)).toEqual(['127.0.0.1:1']);
    const v4 = listenAddresses({ host: '0.0.0.0', port: 8443 }, 'IPv4', 8443);
    expect(v4).toContain('127.0.0.1:8443');
    expect(v4[v4.length - 1]).toMatch(/^127\./);
    for (const a of v4) expect(a).not.toMatch(/^\[/);
  });
});
