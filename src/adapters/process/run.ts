import { spawn, spawnSync } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface ProcessOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Written to the process's standard input, which is then closed. */
  readonly input?: string | Buffer;
  /** Each complete line of output as it comes, decoded as UTF-8 without ever splitting a character. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Kill the process (SIGTERM, then SIGKILL) when it runs longer than this: a deadline, not a hope. */
  readonly timeoutMs?: number;
  /** Kill the process when this aborts (an interrupted run). */
  readonly signal?: AbortSignal;
  /**
   * Run in a process group of its own and signal the whole group: a shell's children (the training
   * script under `sh -c`) stop with it instead of running on after mlship has gone.
   */
  readonly ownProcessGroup?: boolean;
}

export interface ProcessResult {
  /** The exit code, or null when a signal ended the process. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** Killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** Killed because `signal` aborted. */
  readonly aborted: boolean;
}

/** Time a killed process gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * The one way mlship runs another program (git, the training shell). It never rejects for what the
 * program did — the result says how it ended — only when the program cannot be started (the
 * error carries Node's code, e.g. ENOENT), so callers decide what a failure means.
 */
export function runProcess(file: string, args: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut: false, aborted: true });
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: definedOnly(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.ownProcessGroup === true,
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const lines = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    let timedOut = false;
    let aborted = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      const signalTree = (signal: NodeJS.Signals): void => {
        try {
          if (options.ownProcessGroup && child.pid !== undefined) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          // already gone
        }
      };
      signalTree('SIGTERM');
      graceTimer ??= setTimeout(() => signalTree('SIGKILL'), KILL_GRACE_MS);
      graceTimer.unref();
    };
    const deadline =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const take = (stream: 'stdout' | 'stderr', store: Buffer[]) => (chunk: Buffer) => {
      store.push(chunk);
      if (options.onLine) for (const line of lines[stream].push(chunk)) options.onLine(line, stream);
    };
    child.stdout.on('data', take('stdout', stdout));
    child.stderr.on('data', take('stderr', stderr));
    // The program may exit before reading all of its input (it failed); its exit code says why.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (options.onLine) {
        for (const stream of ['stdout', 'stderr'] as const) for (const line of lines[stream].end()) options.onLine(line, stream);
      }
      resolve({ exitCode, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), timedOut, aborted });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * The same, blocking: for the few quick local questions asked where no promise can wait (a
 * constructor checking that a repository and its remote exist). Rejects only when the program
 * cannot be started.
 */
export function runProcessSync(file: string, args: readonly string[], options: Pick<ProcessOptions, 'cwd' | 'env' | 'timeoutMs'>): ProcessResult {
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    env: definedOnly(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const }),
  });
  const timedOut = errnoOf(result.error) === 'ETIMEDOUT';
  if (result.error && !timedOut) throw result.error;
  return { exitCode: result.status, signal: result.signal, stdout: result.stdout ?? Buffer.alloc(0), stderr: result.stderr ?? Buffer.alloc(0), timedOut, aborted: false };
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/**
 * Splits a byte stream into lines, decoding UTF-8 across chunk boundaries: a character whose bytes
 * arrive in two chunks is decoded whole, never as two replacement characters. A final line without
 * a newline comes out of `end`; carriage returns before a newline are dropped.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer): string[] {
    const parts = (this.pending + this.decoder.write(chunk)).split('\n');
    this.pending = parts.pop() ?? '';
    return parts.map(stripCarriageReturn);
  }

  end(): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest === '' ? [] : [stripCarriageReturn(rest)];
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
