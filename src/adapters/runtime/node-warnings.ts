/**
 * Node 24 warns, once per process, when `url.parse()` is called from code outside node_modules
 * (DEP0169). mlship's bundle inlines docker-modem, which parses the engine's own address with it,
 * so every command reaching a tcp:// or ssh:// engine printed that warning into the user's log,
 * about code they cannot change. Only that warning is dropped; every other is printed as before.
 */
export function dropBundledUrlParseWarning(): void {
  const emit = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'DEP0169') return;
    (emit as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}
