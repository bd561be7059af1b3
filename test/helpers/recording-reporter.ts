import type { Progress, ProgressUnit, Reporter } from '../../src/adapters/runtime/reporter.js';

export interface RecordedLine {
  readonly level: 'info' | 'warning' | 'debug' | 'group';
  readonly message: string;
}

/** A Reporter that keeps everything it was told, for assertions. */
export class RecordingReporter implements Reporter {
  readonly lines: RecordedLine[] = [];
  readonly progressed: { title: string; total: number; unit: ProgressUnit; advanced: number; done: boolean }[] = [];
  readonly secrets: string[] = [];

  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warning(message: string): void {
    this.lines.push({ level: 'warning', message });
  }
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  async group<T>(title: string, work: () => Promise<T>): Promise<T> {
    this.lines.push({ level: 'group', message: title });
    return work();
  }
  progress(title: string, total: number, unit: ProgressUnit): Progress {
    const record = { title, total, unit, advanced: 0, done: false };
    this.progressed.push(record);
    return {
      advance: (amount) => {
        record.advanced += amount;
      },
      done: () => {
        record.done = true;
      },
    };
  }
  setSecret(value: string): void {
    this.secrets.push(value);
  }

  text(): string {
    return this.lines.map((l) => `${l.level}: ${l.message}`).join('\n');
  }
  warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warning').map((l) => l.message);
  }
}
