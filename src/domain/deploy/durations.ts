/** Durations as mlship.yml writes them (`500ms`, `30s`, `5m`, `1h`), in milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new RangeError(`not a duration: ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** The optional duration, or the default, in milliseconds. */
export function durationOr(text: string | undefined, fallbackMs: number): number {
  return text === undefined ? fallbackMs : parseDuration(text);
}

/** `1.5 s`, `2 min 5 s`: how people read a duration. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}
