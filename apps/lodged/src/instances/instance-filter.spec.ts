import { matchesFilter, parseFilter } from './instance-filter';

const c1 = { name: 'c1', status: 'Running', type: 'container', ephemeral: false, config: { 'user.role': 'web', 'image.os': 'busybox' } };
const c2 = { name: 'c2', status: 'Stopped', type: 'container', ephemeral: true, config: { 'user.role': 'db server' } };
const pick = (f: string) => [c1, c2].filter((i) => matchesFilter(i, parseFilter(f))).map((i) => i.name);

describe('instance list filters (LXD syntax)', () => {
  it('an empty filter matches everything', () => {
    expect(parseFilter('')).toBeUndefined();
    expect(parseFilter('   ')).toBeUndefined();
    expect(pick('')).toEqual(['c1', 'c2']);
  });

  it('eq and ne on top-level fields; status ignores case', () => {
    expect(pick('name eq c1')).toEqual(['c1']);
    expect(pick('name ne c1')).toEqual(['c2']);
    expect(pick('status eq running')).toEqual(['c1']);
    expect(pick('ephemeral eq true')).toEqual(['c2']);
    expect(pick('name eq C1')).toEqual([]);
  });

  it('config keys with dots, and quoted values', () => {
    expect(pick('config.user.role eq web')).toEqual(['c1']);
    expect(pick("config.user.role eq 'db server'")).toEqual(['c2']);
    expect(pick('config.user.role eq "db server"')).toEqual(['c2']);
    expect(pick('config.image.os eq busybox')).toEqual(['c1']);
    expect(pick('config.missing eq x')).toEqual([]);
    expect(pick('config.missing ne x')).toEqual(['c1', 'c2']);
  });

  it('not, and, or: and binds tighter than or', () => {
    expect(pick('not name eq c1')).toEqual(['c2']);
    expect(pick('name eq c1 and status eq Stopped')).toEqual([]);
    expect(pick('name eq c1 or status eq Stopped')).toEqual(['c1', 'c2']);
    expect(pick('name eq c2 or name eq c1 and status eq Stopped')).toEqual(['c2']);
    expect(pick('NAME eq c1')).toEqual([]); // field names are the JSON names
  });

  it('refuses what it cannot read, saying why', () => {
    expect(() => parseFilter('name gt c1')).toThrow('Invalid filter "name gt c1": unknown operator "gt" (eq or ne)');
    expect(() => parseFilter('name eq')).toThrow(/expected <field> eq\|ne <value>/);
    expect(() => parseFilter('name eq c1 xor name eq c2')).toThrow(/expected "and" or "or", got "xor"/);
    expect(() => parseFilter('name eq c1 and')).toThrow(/expected <field>/);
  });
});
