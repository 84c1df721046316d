import { parse } from 'yaml';
import { csvField, parseFormat, renderListing, renderTable } from './format';
import { humanBytes, progressLine } from './progress';

describe('list formats', () => {
  const listing = { columns: ['NAME', 'STATE'], rows: [['c1', 'RUNNING'], ['longer-name', 'STOPPED']], raw: [{ name: 'c1' }, { name: 'longer-name' }] };

  it('table: ASCII borders, centred header, a line between rows', () => {
    expect(renderTable(listing.columns, listing.rows)).toBe(
      [
        '+-------------+---------+',
        '|    NAME     |  STATE  |',
        '+-------------+---------+',
        '| c1          | RUNNING |',
        '+-------------+---------+',
        '| longer-name | STOPPED |',
        '+-------------+---------+',
        '',
      ].join('\n'),
    );
  });

  it('table: a cell with several lines (addresses) stays in its row', () => {
    const out = renderTable(['IPV4'], [['10.0.0.2 (eth0)\n10.0.0.3 (eth1)']]).split('\n');
    expect(out.slice(3, 5)).toEqual(['| 10.0.0.2 (eth0) |', '| 10.0.0.3 (eth1) |']);
  });

  it('csv: no header, RFC 4180 quoting', () => {
    expect(renderListing('csv', listing)).toBe('c1,RUNNING\nlonger-name,STOPPED\n');
    expect(renderListing('csv', { ...listing, rows: [] })).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });

  it('json and yaml print the objects, not the table', () => {
    expect(JSON.parse(renderListing('json', listing))).toEqual(listing.raw);
    expect(parse(renderListing('yaml', listing))).toEqual(listing.raw);
  });

  it('refuses an unknown format', () => {
    expect(parseFormat('yaml')).toBe('yaml');
    expect(() => parseFormat('xml')).toThrow('Invalid format "xml": expected one of table, json, yaml, csv');
  });
});

describe('sizes and progress', () => {
  it('prints sizes with decimal units', () => {
    expect(humanBytes(0)).toBe('0B');
    expect(humanBytes(999)).toBe('999B');
    expect(humanBytes(1500)).toBe('1.50kB');
    expect(humanBytes(2_310_000)).toBe('2.31MB');
  });

  it('a progress line has the percentage and the rate', () => {
    expect(progressLine('Transferring image', 500_000, 1_000_000, 1000)).toBe('Transferring image: 50% (500.00kB/s)');
    expect(progressLine('Transferring image', 2_000_000, 1_000_000, 1000)).toBe('Transferring image: 100% (2.00MB/s)');
    expect(progressLine('Transferring image', 0, 0, 0)).toBe('Transferring image: 0% (0B/s)');
  });
});
