/**
 * A one-line progress display on a terminal ("Uploading image: 42% (3.10MB/s)"), redrawn in
 * place; silent when the stream is not a TTY so scripts and logs get only the results.
 */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  get enabled(): boolean {
    return !!this.out.isTTY;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[K${progressLine(this.label, done, this.total, now - this.started)}`);
  }

  done(): void {
    if (this.enabled) this.out.write('\r\x1b[K');
  }
}

export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  return `${label}: ${pct}% (${humanBytes(rate)}/s)`;
}

/** Bytes as `lxc` shows sizes: decimal units, two decimals (1.50MB). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)}${units[0]}` : `${v.toFixed(2)}${units[i]}`;
}
