/** Small readers for /proc and /sys files: a missing or unreadable file is `undefined`, never an error. */
import { readdir, readFile, readlink } from 'node:fs/promises';

export async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** A non-negative integer file (e.g. "3", "-1" reads as undefined). */
export async function readUint(path: string): Promise<number | undefined> {
  const text = await readText(path);
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

export async function readLink(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/** A "key : value" file (/proc/cpuinfo, /proc/meminfo) split into records at blank lines. */
export function parseKeyValueRecords(text: string): Array<Map<string, string>> {
  const records: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (line.trim() === '' || i < 0) {
      if (current.size > 0) records.push(current);
      current = new Map();
      continue;
    }
    current.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  if (current.size > 0) records.push(current);
  return records;
}
