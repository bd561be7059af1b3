import * as core from '@actions/core';
import { SecretMasker } from '../../domain/secrets.js';
import { LineProgress, type Progress, type ProgressUnit, type Reporter } from './reporter.js';

/** Human output inside GitHub Actions: workflow commands, collapsible groups, periodic progress lines. */
export class ActionsReporter implements Reporter {
  /** Shared with the command context; the runner masks logs itself, this masks what mlship writes elsewhere. */
  constructor(readonly masker = new SecretMasker()) {}

  info(message: string): void {
    core.info(message);
  }

  warning(message: string): void {
    core.warning(message);
  }

  debug(message: string): void {
    core.debug(message);
  }

  group<T>(title: string, work: () => Promise<T>): Promise<T> {
    return core.group(title, work);
  }

  progress(title: string, total: number, unit: ProgressUnit): Progress {
    return new LineProgress(title, total, unit, (line) => core.info(line), 10_000);
  }

  setSecret(value: string): void {
    this.masker.add(value);
    core.setSecret(value);
  }
}
