import { runProcess } from '../process/run.js';

/** A file's content as committed at `commit`, or undefined when git has no such commit or file there. */
export async function fileAtCommit(repository: string, commit: string, file: string, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  const result = await runProcess('git', ['show', `${commit}:${file}`], { cwd: repository, env, timeoutMs: 60_000 });
  return result.exitCode === 0 ? result.stdout.toString('utf8') : undefined;
}
