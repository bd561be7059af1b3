import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers see the old content or the new, never a mix: temp file, fsync, rename. */
export function writeFileAtomic(target: string, content: string | Uint8Array): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** A hidden name in the same directory (same file system, so rename is atomic). */
export function temporarySibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.mlship-${randomBytes(6).toString('hex')}.tmp`);
}

export const TEMPORARY_NAME = /^\..+\.mlship-[0-9a-f]{12}\.tmp$/;
