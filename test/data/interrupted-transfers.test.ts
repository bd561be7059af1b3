import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { cloneWithoutData, makeProject, storeObjects, treeHashes } from '../helpers/project.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startS3Gate, type S3Gate } from '../helpers/s3-gate.js';

/** Transfers mlship keeps in flight at once (UPLOAD_CONCURRENCY, DOWNLOAD_CONCURRENCY). */
const IN_FLIGHT = 8;
const env = { ...process.env, ...S3RVER_CREDENTIALS };

function cli(cwd: string, ...argv: string[]): SpawnSyncReturns<string> {
  return spawnSync(nodeBinary(), [CLI, ...argv], { cwd, encoding: 'utf8', env });
}

/** Like `cli`, without blocking this process: the S3 gate runs in it. */
async function cliAsync(cwd: string, ...argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(nodeBinary(), [CLI, ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { status, stdout, stderr };
}

/** Starts the CLI, waits for `ready`, sends SIGINT, and returns how it ended. */
async function interrupt(cwd: string, argv: string[], ready: () => boolean): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(nodeBinary(), [CLI, ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!ready() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
  child.kill('SIGINT');
  return { code: await exited, stderr };
}

/** mlship's temporary files anywhere under `root` (workspace temp siblings, partial downloads). */
function temporaryFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((name) => /\.mlship-[0-9a-f]{12}\.tmp$|\.partial$/.test(name));
}

describe('Ctrl-C during a push to a file store', () => {
  it('exits 130 saying how far it got, leaves no temp file in the store, and the re-run uploads only the rest', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 48; i += 1) files[`data/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(4 << 20);
    const project = makeProject(files);
    expect(cli(project.root, 'data', 'snapshot').status).toBe(0);

    const run = await interrupt(project.root, ['data', 'push'], () => storeObjects(project.store).size >= 3);
    expect(run.code, run.stderr).toBe(ExitCode.Interrupted);
    expect(run.stderr).toMatch(/mlship: error: interrupted by SIGINT: uploaded \d+ of 49 objects \([^)]+\); run again to resume/);
    const landed = storeObjects(project.store).size;
    expect(landed).toBeLessThan(49);
    expect(readdirSync(path.join(project.store, 'tmp'))).toEqual([]);

    const rerun = cli(project.root, 'data', 'push', '--json');
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ 'uploaded-objects': 49 - landed });
    expect(cli(project.root, 'data', 'verify').status).toBe(0);
  }, 120_000);
});

describe('Ctrl-C during a transfer with an S3 store', () => {
  let server: S3Server;
  let gate: S3Gate;
  beforeAll(async () => {
    server = await startS3Server('interrupted');
    gate = await startS3Gate(server.endpoint);
  });
  afterAll(async () => {
    await gate?.close();
    await server?.stop();
  });

  it('push and pull stop cleanly, keep what they verified, and the re-runs move only the rest', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 48; i += 1) files[`data/f${String(i).padStart(2, '0')}.bin`] = randomBytes(1024);
    const project = makeProject(files, { storeUrl: `{ url: "s3://${server.bucket}/p", endpoint: "${gate.endpoint}", region: us-east-1 }` });
    expect((await cliAsync(project.root, 'data', 'snapshot')).status).toBe(0);

    // Push: 5 uploads get through, then every upload in flight hangs until Ctrl-C.
    gate.hold('PUT', 5);
    const push = await interrupt(project.root, ['data', 'push'], () => gate.held === IN_FLIGHT);
    expect(push.code, push.stderr).toBe(ExitCode.Interrupted);
    expect(push.stderr).toContain('SIGINT: stopping and cleaning up');
    expect(push.stderr).toMatch(/mlship: error: interrupted by SIGINT: uploaded 5 of 49 objects \(5\.0 KiB of [\d.]+ KiB\); run again to resume/);
    gate.open();
    const putsBefore = gate.completed('PUT');
    const pushAgain = await cliAsync(project.root, 'data', 'push', '--json');
    expect(pushAgain.status, pushAgain.stderr).toBe(0);
    expect(JSON.parse(pushAgain.stdout)).toMatchObject({ 'uploaded-objects': 44 });
    expect(gate.completed('PUT') - putsBefore).toBe(44);

    // Pull into a fresh clone: the listing and 5 objects get through, then every download hangs.
    const clone = cloneWithoutData(project);
    gate.hold('GET', 1 + 5);
    const staging = path.join(clone.root, '.mlship', 'pull');
    const staged = (): string[] => (existsSync(staging) ? readdirSync(staging).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []);
    const pull = await interrupt(clone.root, ['data', 'pull'], () => gate.held === IN_FLIGHT && staged().length === 5);
    expect(pull.code, pull.stderr).toBe(ExitCode.Interrupted);
    expect(pull.stderr).toMatch(/mlship: error: interrupted by SIGINT: downloaded 5 of 48 objects \(5\.0 KiB of 48\.0 KiB this time\); nothing in the workspace was changed.*run again to resume/);
    expect(existsSync(path.join(clone.root, 'data'))).toBe(false);
    expect(staged()).toHaveLength(5);
    expect(temporaryFiles(clone.root)).toEqual([]);

    gate.open();
    const getsBefore = gate.completed('GET');
    const pullAgain = await cliAsync(clone.root, 'data', 'pull', '--json');
    expect(pullAgain.status, pullAgain.stderr).toBe(0);
    expect(JSON.parse(pullAgain.stdout)).toMatchObject({ 'downloaded-objects': 43, 'restored-files': 48 });
    expect(gate.completed('GET') - getsBefore).toBe(43);
    expect(treeHashes(clone.root, 'data')).toEqual(treeHashes(project.root, 'data'));
    expect(existsSync(staging)).toBe(false);
    expect(temporaryFiles(clone.root)).toEqual([]);
  }, 120_000);
});
