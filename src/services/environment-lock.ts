import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reporter } from '../adapters/runtime/reporter.js';
import { formatDuration } from '../domain/duration.js';
import type { LockRecord } from '../domain/registry/records.js';
import type { Registry } from '../domain/registry/registry.js';
import { InfrastructureError, InterruptedError } from '../errors.js';

/** How long a lock lasts without renewal: a killed holder blocks the environment at most this long. */
const LOCK_TTL_MS = 10 * 60_000;
const RENEW_EVERY_MS = LOCK_TTL_MS / 4;
const POLL_MS = 2000;

export interface EnvironmentLock {
  readonly record: LockRecord;
  release(): Promise<void>;
}

/**
 * Holds an environment for a promotion or a rollback, through a lock record in the registry (so it
 * holds across machines and CI runners), renewed while the work lasts. A second promotion waits up
 * to `waitMs` for the holder, then fails (exit 3) naming it. Swarm's version index guards the
 * service itself as well: the two together mean two promotions never interleave.
 */
export async function lockEnvironment(
  registry: Registry,
  environment: string,
  who: { readonly by: string; readonly command: string; readonly runUrl?: string | undefined },
  options: { readonly waitMs: number; readonly signal: AbortSignal; readonly reporter: Reporter },
): Promise<EnvironmentLock> {
  const token = randomBytes(8).toString('hex');
  const started = Date.now();
  const request = (now: Date): LockRecord => ({
    name: environment,
    token,
    holder: who.by,
    command: who.command,
    acquiredAt: new Date(started).toISOString(),
    expiresAt: new Date(now.getTime() + LOCK_TTL_MS).toISOString(),
    ...(who.runUrl ? { runUrl: who.runUrl } : {}),
  });
  let said = false;
  for (;;) {
    const now = new Date();
    const { acquired, holder } = await registry.lock(request(now), now);
    if (acquired) break;
    const who = `${holder.holder} (${holder.command}${holder.runUrl ? `, ${holder.runUrl}` : ''}, since ${holder.acquiredAt}, until ${holder.expiresAt} at the latest)`;
    if (Date.now() - started >= options.waitMs) {
      throw new InfrastructureError(`${environment} is being changed by ${who}${options.waitMs > 0 ? ` and still was after waiting ${formatDuration(options.waitMs)}` : ''}; wait for it, or pass --wait`);
    }
    if (!said) options.reporter.info(`${environment} is being changed by ${who}: waiting up to ${formatDuration(options.waitMs)}`);
    said = true;
    try {
      await sleep(POLL_MS, undefined, { signal: options.signal });
    } catch {
      throw new InterruptedError(`interrupted while waiting for ${environment}`);
    }
  }
  // Renewal keeps a long rollout's lock alive; a failed renewal is said, not fatal (the version
  // index still guards the service).
  const timer = setInterval(() => {
    const now = new Date();
    registry.lock(request(now), now).catch((error: unknown) => options.reporter.warning(`could not renew the lock of ${environment}: ${String(error)}`));
  }, RENEW_EVERY_MS);
  timer.unref();
  return {
    record: request(new Date()),
    release: async () => {
      clearInterval(timer);
      await registry.unlock(environment, token).catch((error: unknown) => options.reporter.warning(`could not release the lock of ${environment}: ${String(error)}`));
    },
  };
}
