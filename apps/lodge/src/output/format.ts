/**
 * The four ways `lodge` prints a list (`--format table|json|yaml|csv`), as `lxc` prints them:
 * table with ASCII borders and a line between rows, csv without a header, json/yaml of the
 * objects the daemon returned (not of the table).
 */
import Table from 'cli-table3';
import { stringify } from 'yaml';

export const FORMATS = ['table', 'json', 'yaml', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) throw new Error(`Invalid format "${value}": expected one of ${FORMATS.join(', ')}`);
  return value as Format;
}

export interface Listing {
  columns: string[];
  rows: string[][];
  /** what json and yaml print */
  raw: unknown;
}

export function renderListing(format: Format, l: Listing): string {
  switch (format) {
    case 'json':
      return JSON.stringify(l.raw) + '\n';
    case 'yaml':
      return stringify(l.raw);
    case 'csv':
      return l.rows.map((r) => r.map(csvField).join(',')).join('\n') + (l.rows.length ? '\n' : '');
    case 'table':
      return renderTable(l.columns, l.rows);
  }
}

export function renderTable(columns: string[], rows: string[][]): string {
  const table = new Table({
    chars: {
      top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
      bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
      left: '|', 'left-mid': '+', mid: '-', 'mid-mid': '+',
      right: '|', 'right-mid': '+', middle: '|',
    },
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
  });
  // the header as the first row: lxc centres it, and draws the same line under it as between rows
  table.push(columns.map((c) => ({ content: c, hAlign: 'center' as const })));
  for (const r of rows) table.push(r);
  return table.toString() + '\n';
}

/** RFC 4180: quote a field holding a comma, a quote or a line break; double inner quotes. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
