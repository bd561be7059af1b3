/**
 * Processes, packages, locks, logs and time limits for the Docker test environment
 * (docker-environment.ts and the pieces it assembles: swarm.ts, test-images.ts, sshd.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { access, constants, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const LIMITS = {
  aptUpdate: 5 * 60_000,
  aptInstall: 10 * 60_000,
  lockWait: 30 * 60_000,
} as const;

export type Log = (line: string) => void;

// ---------------------------------------------------------------------------------------------
// Packages, processes, files.

let aptUpdated = false;

/** Installs, with apt, the packages of the binaries that are missing (one transaction). */
export async function ensureBinaries(binaries: Record<string, string>, dir: string, log: Log): Promise<void> {
  const missing: string[] = [];
  for (const [binary, pkg] of Object.entries(binaries)) if (!(await findBinary(binary))) missing.push(pkg);
  if (missing.length === 0) return;
  const packages = [...new Set(missing)];
  const logFile = path.join(dir, 'apt.log');
  if (!(await findBinary('apt-get'))) throw new Error(`Packages: ${packages.join(', ')} are needed and apt-get is not available; install them by hand.`);
  const apt = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  if (!aptUpdated) {
    try {
      await timed(log, 'apt-get update', () => runLogged('apt-get update', [...apt, 'update', '-qq'], { logFile, timeoutMs: LIMITS.aptUpdate, asRoot: true }));
    } catch (error) {
      // A third-party source that cannot be reached fails the update; Debian's lists may still be fine.
      log(`apt-get update failed, trying the install anyway: ${firstLine(messageOf(error))}`);
    }
    aptUpdated = true;
  }
  await timed(log, `installed ${packages.join(', ')}`, () =>
    runLogged(
      `installing ${packages.join(', ')} with apt`,
      [...apt, 'install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...packages],
      { logFile, timeoutMs: LIMITS.aptInstall, asRoot: true },
    ),
  );
  for (const binary of Object.keys(binaries)) {
    if (!(await findBinary(binary))) throw new Error(`Packages: ${binaries[binary]} was installed but ${binary} is still not found.${await logTail(logFile)}`);
  }
}

/** PATH plus the sbin directories (dockerd, runc, debootstrap live there; a user's PATH may lack them). */
export function systemPath(): string {
  const entries = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!entries.includes(extra)) entries.push(extra);
  return entries.join(':');
}

export async function findBinary(name: string): Promise<string | undefined> {
  for (const directory of systemPath().split(':')) {
    const candidate = path.join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command with its output appended to a log file; fails naming it, with the log's tail. */
export async function runLogged(what: string, argv: string[], options: { logFile: string; timeoutMs: number; asRoot?: boolean }): Promise<void> {
  const command = options.asRoot ? await rootCommand(what, argv) : argv;
  await writeFile(options.logFile, `\n$ ${command.join(' ')}\n`, { flag: 'a' });
  const logFd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', logFd, logFd], env: { ...process.env, PATH: systemPath() } });
  } finally {
    closeSync(logFd);
  }
  const outcome = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) stopProcess(child.pid);
      resolve(`did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped`);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(`could not be started: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : signal ? `was killed by ${signal}` : `exited with code ${code}`);
    });
  });
  if (outcome) throw new Error(`${what}: \`${command.join(' ').slice(0, 200)}\` ${outcome}.${await logTail(options.logFile)}`);
}

export async function runCaptured(what: string, argv: string[]): Promise<string> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await withTimeout(
    new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    }),
    30_000,
    what,
    () => child.kill('SIGKILL'),
  );
  if (code !== 0) throw new Error(`${what}: ${argv[0]} exited with code ${code}: ${stderr.trim()}`);
  return stdout;
}

export async function rootCommand(what: string, argv: string[]): Promise<string[]> {
  if (process.getuid?.() === 0) return argv;
  if (await findBinary('sudo')) return ['sudo', '-n', ...argv];
  throw new Error(`${what}: needs root, and this is neither root nor has sudo`);
}

/** SIGTERM, then SIGKILL two seconds later if it is still there (not awaited). */
export function stopProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 2_000).unref();
}

/**
 * Starts a long-running process with its output in `logFile`, unref'd so it never holds this
 * process open; `exited` says, once it happened, how it ended (for errors that quote its log).
 */
export function spawnLogged(
  binary: string,
  args: readonly string[],
  logFile: string,
  options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {},
): { readonly child: ChildProcess; readonly exited: string | undefined } {
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(binary, [...args], { stdio: ['ignore', logFd, logFd], ...options });
  } finally {
    closeSync(logFd);
  }
  const state: { child: ChildProcess; exited: string | undefined } = { child, exited: undefined };
  child.on('exit', (code, signal) => (state.exited = signal ? `was killed by ${signal}` : `exited with code ${code}`));
  child.on('error', (error) => (state.exited = `could not be started: ${error.message}`));
  child.unref();
  return state;
}

/** Whether a process exists and is not a zombie (a zombie has exited; its parent just did not reap it). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Runs `fn` holding `setup.lock` in the state directory, so two test runs on one machine do not
 * install, start or stop the engine at the same time. A lock whose holder died is taken over.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'setup.lock');
  const deadline = Date.now() + LIMITS.lockWait;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    const age = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
    if ((holder > 0 && !isAlive(holder)) || (!holder && age > 5_000)) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Docker test environment: ${lock} is held by test run ${holder} for more than ${LIMITS.lockWait / 60_000} minutes`);
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The last lines of a log, formatted to end an error message. */
export async function logTail(file: string, lines = 40): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return ` (no log at ${file})`;
  }
  const last = text.slice(-16_000).trimEnd().split('\n').slice(-lines).join('\n');
  return `\n--- last lines of ${file} ---\n${last}\n---`;
}

export async function timed<T>(log: Log, done: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  log(`${done} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what}: no answer within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
/** `preferred` when nothing listens on it on 127.0.0.1, else a free port the kernel picks. */
export async function freeLoopbackPort(preferred = 0): Promise<number> {
  const listen = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  const port = (preferred !== 0 ? await listen(preferred) : undefined) ?? (await listen(0));
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}
