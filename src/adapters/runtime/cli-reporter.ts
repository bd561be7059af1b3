import cliProgress from 'cli-progress';
import { LineProgress, formatAmount, type Progress, type ProgressUnit, type Reporter } from './reporter.js';
import { SecretMasker } from '../../domain/secrets.js';

/** Human output for the CLI: everything on stderr, a live bar when stderr is a terminal. */
export class CliReporter implements Reporter {
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly verbose = false,
    /** Shared with the command context: whatever is registered here is masked everywhere mlship writes. */
    readonly masker = new SecretMasker(),
  ) {}

  info(message: string): void {
    this.write(message);
  }

  warning(message: string): void {
    this.write(`warning: ${message}`);
  }

  debug(message: string): void {
    if (this.verbose) this.write(`debug: ${message}`);
  }

  async group<T>(title: string, work: () => Promise<T>): Promise<T> {
    this.write(`==> ${title}`);
    return work();
  }

  progress(title: string, total: number, unit: ProgressUnit): Progress {
    if (!this.stream.isTTY) return new LineProgress(title, total, unit, (line) => this.write(line));
    const bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `${title} [{bar}] {percentage}% {done} / {size} eta {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    let completed = 0;
    bar.start(total, 0, { done: formatAmount(0, unit), size: formatAmount(total, unit) });
    let stopped = false;
    return {
      advance: (amount) => {
        completed += amount;
        bar.update(completed, { done: formatAmount(completed, unit) });
      },
      done: () => {
        if (stopped) return;
        stopped = true;
        bar.update(completed, { done: formatAmount(completed, unit) });
        bar.stop();
      },
    };
  }

  setSecret(value: string): void {
    this.masker.add(value);
  }

  private write(message: string): void {
    this.stream.write(`${this.masker.mask(message)}\n`);
  }
}
