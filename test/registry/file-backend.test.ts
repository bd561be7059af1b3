import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { temporaryDirectory } from '../helpers/project.js';
import { describeRegistryBackendContract } from './backend-contract.js';
import { startWorker, until } from '../lock/spawn-worker.js';

describeRegistryBackendContract('file registry', async () => {
  const root = path.join(temporaryDirectory(), 'registry');
  return () => new FileRegistryBackend(root);
});

describe('file registry: a change is all-or-nothing, even when its writer is killed', () => {
  const CHANGED_FILES = 60;

  /** What a new reader sees: which generation every file of the change shows, and what it lists. */
  async function generations(root: string): Promise<{ files: Set<string>; listed: number; index: string | undefined; history: string | undefined }> {
    const registry = new FileRegistryBackend(root);
    const names = await registry.list('files');
    const contents = await Promise.all(names.map((name) => registry.read(`files/${name}`)));
    return {
      files: new Set(contents.map((c) => c?.trim() ?? 'missing')),
      listed: names.length,
      index: (await registry.read('index/generation'))?.trim(),
      history: await registry.read('history.log'),
    };
  }

  async function writeGeneration(root: string, generation: number, count: number): Promise<void> {
    await new FileRegistryBackend(root).update(`generation ${generation}`, async (tx) => {
      for (let i = 0; i < count; i++) tx.write(`files/f-${String(i).padStart(5, '0')}`, `generation ${generation}\n`);
      tx.write('index/generation', `${generation}\n`);
      tx.append('history.log', `generation ${generation}`);
    });
  }

  it.each([
    ['staged', 'none of it'],
    ['committed', 'all of it'],
    ['applying', 'all of it'],
  ] as const)('killed at step "%s", its change shows %s to a new reader, and the next writer settles it', async (step, expected) => {
    const directory = temporaryDirectory();
    const root = path.join(directory, 'registry');
    await writeGeneration(root, 1, 40);
    const marker = path.join(directory, 'paused');
    const writer = await startWorker('registry-write', root, '2', String(CHANGED_FILES), step, marker);
    await until(() => existsSync(marker), `the writer to pause at ${step}`);
    writer.child.kill('SIGKILL');
    expect((await writer.exited).signal).toBe('SIGKILL');

    const before = { files: new Set(['generation 1']), listed: 40, index: '1', history: 'generation 1\n' };
    const after = { files: new Set(['generation 2']), listed: CHANGED_FILES, index: '2', history: 'generation 1\ngeneration 2\n' };
    const visible = expected === 'all of it' ? after : before;
    expect(await generations(root)).toEqual(visible);

    // The next writer finishes (or drops) the interrupted change before its own, and leaves no journal or staging behind.
    await new FileRegistryBackend(root).update('next', async (tx) => tx.write('next', 'yes\n'));
    expect(await generations(root)).toEqual(visible);
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('shows all or none of a large change to a reader after its writer is killed as soon as any of it is visible', async () => {
    const directory = temporaryDirectory();
    const root = path.join(directory, 'registry');
    const count = 1000;
    const writer = await startWorker('registry-write', root, '1', String(count));
    const visible = (): boolean => {
      try {
        return readdirSync(path.join(root, 'files')).some((name) => !name.startsWith('.'));
      } catch {
        return false;
      }
    };
    await until(visible, 'the first file of the change');
    writer.child.kill('SIGKILL');
    await writer.exited;
    const seen = await generations(root);
    expect([0, count]).toContain(seen.listed);
    if (seen.listed === count) expect(seen).toEqual({ files: new Set(['generation 1']), listed: count, index: '1', history: 'generation 1\n' });
  }, 60_000);
});

describe('file registry: readers during changes', () => {
  it('never shows a reader part of a change while another process writes generation after generation', async () => {
    const root = path.join(temporaryDirectory(), 'registry');
    const writer = await startWorker('registry-generations', root, '20', '60');
    let running = true;
    const finished = writer.exited.finally(() => (running = false));
    const registry = new FileRegistryBackend(root);
    const generation = async (file: string): Promise<number> => Number((await registry.read(file))?.trim() ?? 0);
    const torn: string[] = [];
    let passes = 0;
    while (running) {
      const before = await generation('index/generation');
      const names = await registry.list('files');
      const files = await Promise.all(names.map((name) => generation(`files/${name}`)));
      const after = await generation('index/generation');
      // Each change writes every file and the index together: files read between two reads of the index lie between them.
      if (files.some((g) => g < before || g > after)) torn.push(`index ${before}..${after}, files ${files.join(',')}`);
      if (before > 0 && names.length !== 20) torn.push(`${names.length} files listed at generation ${before}`);
      passes++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await finished).code).toBe(0);
    expect(torn).toEqual([]);
    expect(passes).toBeGreaterThan(10);
    expect(await generation('index/generation')).toBe(60);
  }, 120_000);
});

describe('file registry: one writer at a time across processes', () => {
  it('never runs two changes at once, through a stale lock and writers killed mid-change, and loses no committed change', async () => {
    const directory = temporaryDirectory();
    const root = path.join(directory, 'registry');
    writeFileSync(path.join(directory, 'log'), '');
    // A lock left by a writer that died two minutes ago: stale by its pid and by its age.
    mkdirSync(root, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(path.join(root, '.lock'), `${JSON.stringify({ token: 'deadbeefdeadbeef', pid: dead, host: hostname(), command: 'mlship train', since: new Date().toISOString() })}\n`);
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(path.join(root, '.lock'), twoMinutesAgo, twoMinutesAgo);

    const rounds = 8;
    const workers = await Promise.all([
      ...Array.from({ length: 3 }, () => startWorker('registry-contend', root, directory, String(rounds))),
      ...[2, 4].map((dieAt) => startWorker('registry-contend', root, directory, String(rounds), String(dieAt))),
    ]);
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    expect(exits.map((e) => e.signal ?? e.code), exits.map((e) => e.stderr).join('\n')).toEqual([0, 0, 0, 'SIGKILL', 'SIGKILL']);

    const entered = readFileSync(path.join(directory, 'log'), 'utf8').trimEnd().split('\n');
    expect(entered.filter((line) => line.startsWith('OVERLAP'))).toEqual([]);
    expect(entered).toHaveLength(3 * rounds + 3 + 5);
    // The killed writers' last changes never committed; every other change did.
    const committed = (await new FileRegistryBackend(root).read('shared.log'))!.trimEnd().split('\n');
    expect(committed).toHaveLength(3 * rounds + 2 + 4);
  }, 120_000);
});

describe('file registry: the writer lock', () => {
  it('waits for a live writer however old its lock looks, and takes the lock over as soon as that writer is killed', async () => {
    const directory = temporaryDirectory();
    const root = path.join(directory, 'registry');
    const ready = path.join(directory, 'ready');
    const holder = await startWorker('hold', path.join(root, '.lock'), ready);
    await until(() => existsSync(ready), 'the other writer to take the lock');
    // Its heartbeat looks two minutes old (a clock behind, a stalled timer): it is alive, so it still holds the lock.
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(path.join(root, '.lock'), twoMinutesAgo, twoMinutesAgo);

    const events: string[] = [];
    const update = new FileRegistryBackend(root).update('after the other writer', async (tx) => {
      events.push('change ran');
      tx.write('after', 'yes\n');
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a wrong takeover to happen
    events.push('other writer killed');
    holder.child.kill('SIGKILL');
    await update;
    expect(events).toEqual(['other writer killed', 'change ran']);
    expect(await new FileRegistryBackend(root).read('after')).toBe('yes\n');
  });
});
