import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, type BlobStore } from '../../src/adapters/store/blob-store.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Streams `data` in 64 KiB chunks, then fails with `error` after `failAfter` bytes if given. */
function source(data: Buffer, failAfter?: number, error = new Error('source broke')): () => Readable {
  return () =>
    Readable.from(
      (function* () {
        for (let offset = 0; offset < data.length; offset += 65536) {
          if (failAfter !== undefined && offset >= failAfter) throw error;
          yield data.subarray(offset, offset + 65536);
        }
      })(),
    );
}

/** The behaviour every BlobStore promises (see blob-store.ts), run against a real backend. */
export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStore>, options: {
    largeBytes: number;
    /**
     * Whether GET also finds nothing after a failed upload. True for the file store and for real
     * S3; s3rver (the S3 test server) writes objects in place, so its GET serves the partial bytes
     * of an aborted PUT while HEAD reports it absent. mlship never trusts GET alone: it hashes
     * every byte it downloads.
     */
    absentAfterFailedUpload: boolean;
  }): void {
  describe(`${name}: the BlobStore contract`, () => {
    it.each([
      ['empty', Buffer.alloc(0)],
      ['small', Buffer.from('hello, store\n')],
      ['multi-MiB', randomBytes(3 << 20)],
      ['large', randomBytes(options.largeBytes)],
    ])('round-trips a %s object byte for byte', async (_label, data) => {
      const store = await makeStore();
      const hash = sha256(data);
      await store.upload(hash, data.length, source(data));
      expect(sha256(await readAll(await store.download(hash)))).toBe(hash);
    }, 120_000);

    it('reports only absent keys, once each, in input order', async () => {
      const store = await makeStore();
      const a = Buffer.from('a');
      await store.upload(sha256(a), 1, source(a));
      const absent1 = sha256(Buffer.from('absent 1'));
      const absent2 = sha256(Buffer.from('absent 2'));
      expect(await store.missing([absent2, sha256(a), absent1, absent2])).toEqual([absent2, absent1]);
      expect(await store.missing([])).toEqual([]);
    });

    it('accepts the same object twice', async () => {
      const store = await makeStore();
      const data = Buffer.from('twice');
      await store.upload(sha256(data), data.length, source(data));
      await store.upload(sha256(data), data.length, source(data));
      expect((await readAll(await store.download(sha256(data)))).toString()).toBe('twice');
    });

    it('leaves nothing visible when the source fails half-way, and rethrows that failure', async () => {
      const store = await makeStore();
      const data = randomBytes(1 << 20);
      const failure = new Error('content changed under us');
      await expect(store.upload(sha256(data), data.length, source(data, 512 << 10, failure))).rejects.toBe(failure);
      // What push and pull rely on: the key counts as absent, so the next push uploads it again.
      expect(await store.missing([sha256(data)])).toEqual([sha256(data)]);
      if (options.absentAfterFailedUpload) await expect(store.download(sha256(data))).rejects.toBeInstanceOf(BlobNotFoundError);
      // And a complete upload afterwards replaces whatever the failed one left.
      await store.upload(sha256(data), data.length, source(data));
      expect(sha256(await readAll(await store.download(sha256(data))))).toBe(sha256(data));
    });

    it('says which object is absent on download', async () => {
      const store = await makeStore();
      const hash = sha256(Buffer.from('never stored'));
      const error = await store.download(hash).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BlobNotFoundError);
      expect((error as Error).message).toContain(`sha256:${hash}`);
      expect((error as Error).message).toContain(store.location);
    });
  });
}
