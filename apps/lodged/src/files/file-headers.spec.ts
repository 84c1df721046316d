import { formatMode, parseFileWriteHeaders, parseIntBase0 } from './file-headers';

describe('X-LXD-* file headers', () => {
  it('parses modes the way Go\'s strconv.ParseInt(s, 0, 64) does', () => {
    expect(['0644', '420', '0o644', '0x1a4', '0b110100100', '0'].map(parseIntBase0)).toEqual([0o644, 420, 0o644, 0x1a4, 0o644, 0]);
    expect(['', '08', '-1', '0x', 'rw', '1e3', ' 1'].map(parseIntBase0)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('defaults to a file written over, with owner and mode unset (absent or -1)', () => {
    expect(parseFileWriteHeaders({})).toEqual({ type: 'file', write: 'overwrite', uid: undefined, gid: undefined, mode: undefined });
    expect(parseFileWriteHeaders({ 'x-lxd-uid': '-1', 'x-lxd-gid': '-1', 'x-lxd-mode': '-1' })).toMatchObject({ uid: undefined, gid: undefined, mode: undefined });
    expect(parseFileWriteHeaders({ 'x-lxd-uid': '1000', 'x-lxd-gid': '0', 'x-lxd-mode': '0755', 'x-lxd-type': 'directory', 'x-lxd-write': 'append' })).toEqual({
      uid: 1000,
      gid: 0,
      mode: 0o755,
      type: 'directory',
      write: 'append',
    });
  });

  it.each([
    [{ 'x-lxd-type': 'fifo' }, 'Bad file type: fifo'],
    [{ 'x-lxd-write': 'truncate' }, 'Bad file write mode: truncate'],
    [{ 'x-lxd-uid': '-2' }, 'Invalid uid "-2"'],
    [{ 'x-lxd-gid': '4294967295' }, 'Invalid gid "4294967295"'],
    [{ 'x-lxd-mode': '010000' }, 'Invalid mode "010000"'],
    [{ 'x-lxd-mode': 'u+x' }, 'Invalid mode "u+x"'],
    [{ 'x-lxd-uid': '1'.repeat(40) }, 'Header x-lxd-uid is too long'],
  ])('refuses %j', (headers, message) => {
    expect(() => parseFileWriteHeaders(headers)).toThrow(message);
  });

  it('formats modes as LXD does on GET', () => {
    expect([0o644, 0o4755, 0o7].map(formatMode)).toEqual(['0644', '4755', '0007']);
  });
});
