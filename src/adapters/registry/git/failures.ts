/** What git's exit codes and messages mean for the registry: a lost race, a lock, a refusal, an outage. */

/** A git command that exited non-zero (or was killed at its deadline), with everything it printed. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly output: string,
    readonly timedOut = false,
  ) {
    super(`git ${args[0]} ${timedOut ? 'passed its deadline' : `exited with ${exitCode}`}: ${output.trim()}`);
  }
}

/** A push rejected because the branch moved (or appeared) since our fetch: another writer won. */
export function isLostRace(output: string): boolean {
  return (
    /\[rejected\]/.test(output) ||
    /\[remote rejected\].*\((failed to update ref|cannot lock ref|incorrect old value|reference already exists)/i.test(output)
  );
}

export function isLockContention(output: string): boolean {
  return /cannot lock ref|Unable to create '[^']*\.lock'/i.test(output);
}

/** git's own words, without its hints and chatter. */
export function gitMessage(output: string): string {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(hint:|To |Done$)/.test(line))
    .join('; ')
    .slice(0, 800);
}

/** The failure in plain words, for people who do not read git's. */
export function plainReason(detail: string, timedOut = false): string {
  if (timedOut || /Operation too slow|Operation timed out|timed out/i.test(detail)) return 'the remote stopped answering (deadline passed)';
  if (/Authentication failed|could not read Username|Permission to .* denied|returned error: 40[13]|Permission denied \(publickey/i.test(detail)) {
    return 'the remote refused the credentials (can they write to the repository?)';
  }
  if (/Could not resolve host|Connection refused|Failed to connect|does not appear to be a git repository|Could not read from remote|unable to access/i.test(detail)) {
    return 'the remote is unreachable';
  }
  if (/\[remote rejected\]/.test(detail)) return 'the remote refused the update (is the branch protected?)';
  return 'git failed';
}

/**
 * The pause after a lost race: random, so racing writers spread out, and growing from 50–100 ms
 * to at most 0.5–1 s, or two to four times the attempt's own length when the remote is far away
 * (writers that retry faster than an attempt takes only collide again).
 */
export function backoff(attempt: number, attemptMs: number): number {
  const ceiling = Math.min(100 * 2 ** (attempt - 1), Math.max(1000, 4 * attemptMs));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
