import { InterruptedError } from '../errors.js';

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM (Ctrl-C, a cancelled workflow): long
 * work stops, removes its temporary files and says what it did. A second signal ends the process
 * at once. Only the entry points call this.
 */
export function interruptSignal(onInterrupt: (message: string) => void): AbortSignal {
  const controller = new AbortController();
  const handle = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(128 + (name === 'SIGINT' ? 2 : 15));
    onInterrupt(`${name}: stopping and cleaning up (send it again to quit at once)`);
    controller.abort(new InterruptedError(`interrupted by ${name}`));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return controller.signal;
}
