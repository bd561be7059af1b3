import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileBlobStore } from '../../src/adapters/store/file-store.js';
import { InfrastructureError, ExitCode } from '../../src/errors.js';
import { temporaryDirectory } from '../helpers/project.js';
import { describeBlobStoreContract } from './contract.js';

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
