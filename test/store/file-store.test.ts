import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileBlobStore } from '../../src/adapters/store/file-store.js';
import { InfrastructureError, ExitCode } from '../../src/errors.js';
import { temporaryDirectory } from '../helpers/project.js';
import { describeBlobStoreContract, sha256, stallingSource } from './contract.js';

describeBlobStoreContract('file store', async () => new FileBlobStore(path.join(temporaryDirectory(), 'store')));

describe('file store', () => {
  it('fails with an infrastructure error naming the location when its root cannot be a directory', async () => {
    const parent = temporaryDirectory();
    writeFileSync(path.join(parent, 'file'), 'x');
    const store = new FileBlobStore(path.join(parent, 'file', 'store'));
    const error = await store.missing(['00'.repeat(32)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).exitCode).toBe(ExitCode.Infrastructure);
    expect((error as Error).message).toContain(`store file://${parent}/file/store is not usable`);
  });

  it('removes the temporary file of an aborted upload at once', async () => {
    const root = path.join(temporaryDirectory(), 'store');
    const store = new FileBlobStore(root);
    const data = Buffer.alloc(1 << 20, 5);
    const controller = new AbortController();
    const upload = store.upload(sha256(data), data.length, stallingSource(data, 65536), controller.signal);
    const temporary = (): string[] => (existsSync(path.join(root, 'tmp')) ? readdirSync(path.join(root, 'tmp')) : []);
    while (temporary().length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error('stop'));
    await expect(upload).rejects.toThrow('stop');
    expect(temporary()).toEqual([]);
  });

  it('removes uploads abandoned for a day, and only those', async () => {
    const root = path.join(temporaryDirectory(), 'store');
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    writeFileSync(path.join(root, 'tmp', 'old'), 'left by a killed writer');
    writeFileSync(path.join(root, 'tmp', 'live'), 'being written right now');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    utimesSync(path.join(root, 'tmp', 'old'), twoDaysAgo, twoDaysAgo);
    await new FileBlobStore(root).missing([]);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual(['live']);
  });
});
