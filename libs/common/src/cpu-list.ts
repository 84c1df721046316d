/** Kernel cpu-list text ("0-3,5"), shared by the config layer and the runtime. */

/** Highest cpu number accepted in a cpu list (the kernel's NR_CPUS ceiling is 8192). */
export const MAX_CPU_INDEX = 8191;

/**
 * Parses a kernel cpu list ("0-3,5", "7") into the sorted, de-duplicated cpu numbers. Returns
 * undefined when the text does not follow the grammar: comma-separated items, each `N` or `N-M`
 * with N <= M <= MAX_CPU_INDEX, decimal without sign or spaces. An empty string is not a list.
 */
export function parseCpuList(text: string): number[] | undefined {
  const r = checkCpuList(text);
  return 'cpus' in r ? r.cpus : undefined;
}

/** Like parseCpuList, but says what is wrong: "range 3-1 ends before it starts". */
export function checkCpuList(text: string): { cpus: number[] } | { problem: string } {
  if (typeof text !== 'string' || text.length === 0) return { problem: 'empty cpu list' };
  const cpus = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (!m) return { problem: `"${item}" is not a cpu number or range` };
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > hi) return { problem: `range ${item} ends before it starts` };
    if (hi > MAX_CPU_INDEX) return { problem: `CPU ${hi} is above ${MAX_CPU_INDEX}` };
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return { cpus: [...cpus].sort((a, b) => a - b) };
}

/** Kernel cpu-list text for a set of CPUs: [0,1,2,5] -> "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
