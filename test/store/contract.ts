import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, type BlobStore } from '../../src/adapters/store/blob-store.js';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Streams `data` in 64 KiB chunks. With `failAt`, throws `error` once `failAt` bytes have gone out.
 * `failAt === data.length` fails after the last byte, as a verifying stream does on a hash mismatch,
 * and only after a pause: by then every byte has reached the store, which must still not publish it.
 */
export function source(data: Buffer, failAt?: number, error = new Error('source broke')): () => Readable {
  return () =>
    Readable.from(
      (async function* () {
        for (let offset = 0; offset < data.length; offset += 65536) {
          if (failAt !== undefined && offset >= failAt) throw error;
          yield data.subarray(offset, Math.min(offset + 65536, failAt ?? Infinity));
        }
        if (failAt !== undefined) {
          await delay(500);
          throw error;
        }
      })(),
    );
}

/** Gives the first `sent` bytes of `data`, then nothing more, ever: an upload that only an abort can end. */
export function stallingSource(data: Buffer, sent: number): () => Readable {
  return () => {
    const stream = new Readable({ read() {} });
    stream.push(data.subarray(0, sent));
    return stream;
  };
}

const MiB = 1 << 20;

export interface ContractOptions {
  /** A size above the backend's multipart threshold, so that path is covered too; omit if it has none. */
  readonly largeBytes?: number;
}

/**
 * The behaviour every BlobStore promises (see blob-store.ts), run against a real backend.
 * `makeStore` must return an empty store each time, so tests cannot see each other's objects.
 */
export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStore>, options: ContractOptions = {}): void {
  // Random content (so nothing dedupes or compresses by accident), made once per size.
  const contents = new Map<number, Buffer>();
  const content = (size: number): Buffer => {
    let data = contents.get(size);
    if (!data) contents.set(size, (data = randomBytes(size)));
    return data;
  };
  const large = options.largeBytes;
  const sizes: [string, number][] = [
    ['1 MiB', MiB],
    ['20 MiB', 20 * MiB],
    ...(large ? ([[`${Math.round(large / MiB)} MiB (multipart)`, large]] as [string, number][]) : []),
  ];

  describe(`${name}: the BlobStore contract`, () => {
    it.each([
      ['an empty', 0],
      ['a small', 13],
      ...sizes.map(([label, size]): [string, number] => [`a ${label}`, size]),
    ])('round-trips %s object byte for byte', async (_label, size) => {
      const store = await makeStore();
      const data = content(size);
      const hash = sha256(data);
      expect(await store.missing([hash])).toEqual([hash]);
      await store.upload(hash, data.length, source(data));
      expect(await store.missing([hash])).toEqual([]);
      const back = await readAll(await store.download(hash));
      expect(back.length).toBe(data.length);
      expect(back.equals(data)).toBe(true);
    }, 120_000);

    it('reports only absent keys, once each, in input order', async () => {
      const store = await makeStore();
      const a = Buffer.from('a');
      await store.upload(sha256(a), 1, source(a));
      const absent1 = sha256(Buffer.from('absent 1'));
      const absent2 = sha256(Buffer.from('absent 2'));
      expect(await store.missing([absent2, sha256(a), absent1, absent2, sha256(a)])).toEqual([absent2, absent1]);
      expect(await store.missing([sha256(a)])).toEqual([]);
      expect(await store.missing([])).toEqual([]);
    });

    it('accepts the same object twice, one after the other and at the same time', async () => {
      const store = await makeStore();
      const data = Buffer.from('twice');
      await store.upload(sha256(data), data.length, source(data));
      await store.upload(sha256(data), data.length, source(data));
      expect((await readAll(await store.download(sha256(data)))).toString()).toBe('twice');
      const big = content(MiB);
      await Promise.all([1, 2].map(() => store.upload(sha256(big), big.length, source(big))));
      expect((await readAll(await store.download(sha256(big)))).equals(big)).toBe(true);
    });

    it.each(sizes.flatMap(([label, size]): [string, string, number, number][] => [
      [label, 'half-way', size, Math.floor(size / 2)],
      [label, 'after its last byte', size, size],
    ]))('leaves nothing visible when the source of a %s object fails %s, and rethrows that failure', async (_label, _when, size, failAt) => {
      const store = await makeStore();
      const data = content(size);
      const hash = sha256(data);
      const failure = new Error('content changed under us');
      await expect(store.upload(hash, data.length, source(data, failAt, failure))).rejects.toBe(failure);
      // What push relies on: the key still counts as absent, so the next push uploads it again.
      expect(await store.missing([hash])).toEqual([hash]);
      await expect(store.download(hash)).rejects.toBeInstanceOf(BlobNotFoundError);
      // And a complete upload afterwards stores the whole object.
      await store.upload(hash, data.length, source(data));
      expect((await readAll(await store.download(hash))).equals(data)).toBe(true);
    }, 120_000);

    it.each(sizes.slice(0, 2))('reports the source failure of a %s object that also ran longer than announced', async (_label, size) => {
      // A file that grew since it was hashed: the verifying source's verdict is what the user must see.
      const store = await makeStore();
      const data = content(size + 65536);
      const hash = sha256(data.subarray(0, size));
      const failure = new Error('content changed under us');
      await expect(store.upload(hash, size, source(data, data.length, failure))).rejects.toBe(failure);
      expect(await store.missing([hash])).toEqual([hash]);
    }, 120_000);

    it('replaces an existing object (a repair) in one step: a failed replacement leaves the old bytes whole', async () => {
      const store = await makeStore();
      const good = content(MiB);
      const hash = sha256(good);
      const damaged = Buffer.from(good);
      damaged.writeUInt8(damaged.readUInt8(12345) ^ 0xff, 12345); // a store keeps what it is given: this is how damage looks
      await store.upload(hash, damaged.length, source(damaged));
      await expect(store.upload(hash, good.length, source(good, good.length / 2, new Error('broke')))).rejects.toThrow('broke');
      expect((await readAll(await store.download(hash))).equals(damaged)).toBe(true);
      await store.upload(hash, good.length, source(good));
      expect((await readAll(await store.download(hash))).equals(good)).toBe(true);
    }, 120_000);

    it.each(sizes.slice(0, 2))('stops an upload of a %s object when its signal is aborted: the reason is thrown, nothing is visible', async (_label, size) => {
      const store = await makeStore();
      const data = content(size);
      const hash = sha256(data);
      const controller = new AbortController();
      const reason = new Error('interrupted by SIGINT');
      const upload = store.upload(hash, data.length, stallingSource(data, 65536), controller.signal);
      await delay(200);
      controller.abort(reason);
      await expect(upload).rejects.toBe(reason);
      expect(await store.missing([hash])).toEqual([hash]);
      await expect(store.upload(hash, data.length, source(data), controller.signal)).rejects.toBe(reason);
      expect(await store.missing([hash])).toEqual([hash]);
    }, 120_000);

    it('says which object is absent on download', async () => {
      const store = await makeStore();
      const hash = sha256(Buffer.from('never stored'));
      const error = await store.download(hash).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlobNotFoundError);
      expect((error as BlobNotFoundError).hash).toBe(hash);
      expect((error as Error).message).toContain(`sha256:${hash}`);
      expect((error as Error).message).toContain(store.location);
    });
  });
}
