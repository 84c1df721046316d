import { headerMode, parseInstanceFile, parseMode, pullDestination, pushDestination } from './file-paths';

describe('file paths', () => {
  it('splits [remote:]instance/path', () => {
    expect(parseInstanceFile('c1/etc/hosts')).toEqual({ instance: 'c1', path: '/etc/hosts' });
    expect(parseInstanceFile('srv:c1/root/')).toEqual({ instance: 'srv:c1', path: '/root/' });
    expect(() => parseInstanceFile('c1')).toThrow('Invalid instance path "c1"');
    expect(() => parseInstanceFile('/etc/hosts')).toThrow('Invalid instance path');
    expect(() => parseInstanceFile('srv:/x')).toThrow('Invalid instance path');
  });

  it('a target directory keeps the source name', () => {
    expect(pushDestination('/tmp/', '/home/u/a.txt', false)).toBe('/tmp/a.txt');
    expect(pushDestination('/tmp/b.txt', '/home/u/a.txt', false)).toBe('/tmp/b.txt');
    expect(() => pushDestination('/tmp/b.txt', 'a', true)).toThrow('Pushing several files needs a target directory ending with /');
    expect(pullDestination('out', '/etc/hosts', true)).toBe('out/hosts');
    expect(pullDestination('out/', '/etc/hosts', false)).toBe('out/hosts');
    expect(pullDestination('copy.txt', '/etc/hosts', false)).toBe('copy.txt');
  });

  it('modes: octal from the user, octal or decimal from the server', () => {
    expect(parseMode('0644')).toBe(0o644);
    expect(parseMode('755')).toBe(0o755);
    expect(() => parseMode('0999')).toThrow('Invalid mode "0999"');
    expect(headerMode('0640')).toBe(0o640);
    expect(headerMode('420')).toBe(420);
    expect(headerMode(undefined)).toBeUndefined();
    expect(headerMode('rw-r--r--')).toBeUndefined();
  });
});
