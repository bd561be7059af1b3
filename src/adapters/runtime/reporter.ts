/**
 * How commands talk to people. The CLI writes to stderr (stdout is reserved for `--json`), the
 * action writes workflow commands through @actions/core. Commands only see this interface.
 */
export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Runs `work` inside a named section (a collapsible group in Actions). */
  group<T>(title: string, work: () => Promise<T>): Promise<T>;
  /** Starts a progress display for long work; `total` in `unit`s. */
  progress(title: string, total: number, unit: ProgressUnit): Progress;
  /** Never print this value again (credentials, tokens). */
  setSecret(value: string): void;
}

export type ProgressUnit = 'bytes' | 'files' | 'objects' | 'resamples';

export interface Progress {
  /** Adds `amount` units of completed work. */
  advance(amount: number): void;
  /** Ends the display; safe to call twice. */
  done(): void;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatAmount(amount: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(amount) : `${amount} ${unit}`;
}

/**
 * Progress for logs that are not a terminal (CI, Actions): a line every `intervalMs` while the work
 * lasts, and a closing line if any was printed, so long work shows movement and short work stays quiet.
 */
export class LineProgress implements Progress {
  private completed = 0;
  private lastPrint: number;
  private printed = false;
  private printedAt = -1;
  private finished = false;
  private readonly started = Date.now();

  constructor(
    private readonly title: string,
    private readonly total: number,
    private readonly unit: ProgressUnit,
    private readonly print: (line: string) => void,
    private readonly intervalMs = 5000,
  ) {
    this.lastPrint = this.started;
  }

  advance(amount: number): void {
    this.completed += amount;
    const now = Date.now();
    if (now - this.lastPrint >= this.intervalMs) {
      this.lastPrint = now;
      this.printed = true;
      this.printedAt = this.completed;
      this.print(this.line(now));
    }
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.printed && this.printedAt !== this.completed) this.print(this.line(Date.now()));
  }

  private line(now: number): string {
    const percent = this.total > 0 ? Math.min(100, Math.floor((this.completed / this.total) * 100)) : 100;
    const seconds = ((now - this.started) / 1000).toFixed(1);
    return `${this.title}: ${formatAmount(this.completed, this.unit)} / ${formatAmount(this.total, this.unit)} (${percent}%, ${seconds} s)`;
  }
}
