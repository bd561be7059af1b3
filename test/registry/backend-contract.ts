import { describe, expect, it } from 'vitest';
import type { RegistryBackend } from '../../src/domain/registry/backend.js';

/** Opens the registry under test; every call gives a new instance on the same (shared) registry. */
export type OpenRegistry = () => RegistryBackend;

/**
 * The behaviour every RegistryBackend promises (see backend.ts), run against a real backend.
 * `createRegistry` makes a new, empty registry for each test.
 */
export function describeRegistryBackendContract(name: string, createRegistry: () => Promise<OpenRegistry>): void {
  describe(`${name}: the RegistryBackend contract`, () => {
    it('finds nothing in an empty registry', async () => {
      const registry = (await createRegistry())();
      expect(await registry.read('runs/absent.json')).toBeUndefined();
      expect(await registry.list('runs')).toEqual([]);
      expect(await registry.list('models/deep/er')).toEqual([]);
    });

    it('reads back what an update wrote, from the same and from a new instance', async () => {
      const open = await createRegistry();
      const writer = open();
      await writer.update('write', async (tx) => {
        tx.write('runs/b.json', '{"b":1}\n');
        tx.write('runs/a.json', '{"a":1}\n');
        tx.write('index/latest', 'a');
      });
      for (const registry of [writer, open()]) {
        expect(await registry.read('runs/a.json')).toBe('{"a":1}\n');
        expect(await registry.read('runs/b.json')).toBe('{"b":1}\n');
        expect(await registry.read('index/latest')).toBe('a');
        expect(await registry.read('runs/c.json')).toBeUndefined();
        expect(await registry.list('runs')).toEqual(['a.json', 'b.json']);
      }
    });

    it('replaces a file on a second write', async () => {
      const open = await createRegistry();
      await open().update('first', async (tx) => tx.write('pointer', 'one'));
      await open().update('second', async (tx) => tx.write('pointer', 'two'));
      expect(await open().read('pointer')).toBe('two');
    });

    it('accumulates appended lines across updates and within one', async () => {
      const open = await createRegistry();
      await open().update('one', async (tx) => tx.append('history.jsonl', '{"n":1}'));
      await open().update('two and three', async (tx) => {
        tx.append('history.jsonl', '{"n":2}');
        tx.append('history.jsonl', '{"n":3}');
      });
      expect(await open().read('history.jsonl')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    });

    it('applies an append after a write of the same path on top of that write', async () => {
      const open = await createRegistry();
      await open().update('old', async (tx) => tx.write('log', 'old\n'));
      await open().update('replace and extend', async (tx) => {
        tx.write('log', 'new\n');
        tx.append('log', 'more');
      });
      expect(await open().read('log')).toBe('new\nmore\n');
    });

    it('lets a transaction read its own pending writes and appends', async () => {
      const open = await createRegistry();
      await open().update('setup', async (tx) => {
        tx.write('runs/old.json', 'old');
        tx.append('log', 'a');
      });
      const seen: unknown[] = [];
      await open().update('change', async (tx) => {
        seen.length = 0; // a retried change starts over
        tx.write('runs/new.json', 'new');
        tx.write('runs/old.json', 'replaced');
        tx.append('log', 'b');
        seen.push(await tx.read('runs/new.json'), await tx.read('runs/old.json'), await tx.read('log'), await tx.list('runs'));
      });
      expect(seen).toEqual(['new', 'replaced', 'a\nb\n', ['new.json', 'old.json']]);
    });

    it('creates nothing when a change writes nothing', async () => {
      const open = await createRegistry();
      let calls = 0;
      await open().update('nothing', async (tx) => {
        calls++;
        expect(await tx.read('absent')).toBeUndefined();
      });
      expect(calls).toBe(1);
      expect(await open().read('absent')).toBeUndefined();
    });

    it('makes none of a failed change visible', async () => {
      const open = await createRegistry();
      await open().update('setup', async (tx) => tx.write('kept', 'before'));
      const failure = new Error('change failed halfway');
      const outcome = open().update('half', async (tx) => {
        tx.write('kept', 'after');
        tx.write('runs/new.json', 'new');
        tx.append('log', 'line');
        throw failure;
      });
      await expect(outcome).rejects.toBe(failure);
      const registry = open();
      expect(await registry.read('kept')).toBe('before');
      expect(await registry.read('runs/new.json')).toBeUndefined();
      expect(await registry.read('log')).toBeUndefined();
    });

    it('loses none of many concurrent updates from several instances', { timeout: 120_000 }, async () => {
      const open = await createRegistry();
      const instances = [open(), open(), open()];
      const writers = Array.from({ length: 8 }, (_, i) => i);
      await Promise.all(
        writers.map((i) =>
          instances[i % instances.length]!.update(`writer ${i}`, async (tx) => {
            tx.append('shared.log', `writer-${i}`);
            tx.write(`files/writer-${i}`, `${i}`);
          }),
        ),
      );
      const registry = open();
      const lines = (await registry.read('shared.log'))!.trimEnd().split('\n');
      expect(lines.sort()).toEqual(writers.map((i) => `writer-${i}`).sort());
      expect(await registry.list('files')).toEqual(writers.map((i) => `writer-${i}`).sort());
    });
  });
}
