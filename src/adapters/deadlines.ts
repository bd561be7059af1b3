/**
 * How long a network call may make no progress before mlship gives up on it: MLSHIP_NETWORK_TIMEOUT
 * seconds, else 30. Git fetches and pushes, GitHub API calls and image pushes and pulls all use it,
 * so a stalled remote ends a job in a bounded time with a message naming it.
 */
export const DEFAULT_NETWORK_TIMEOUT_SECONDS = 30;

export function networkTimeoutSeconds(env: Readonly<Record<string, string | undefined>>): number {
  const value = Number(env.MLSHIP_NETWORK_TIMEOUT);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_NETWORK_TIMEOUT_SECONDS;
}
