import { describe, expect, it, vi } from 'vitest';
import { LineProgress, formatBytes } from '../src/adapters/runtime/reporter.js';
import { SecretMasker } from '../src/domain/secrets.js';

describe('LineProgress', () => {
  it('stays quiet for short work and reports long work periodically, then once at the end', () => {
    vi.useFakeTimers();
    try {
      const quietLines: string[] = [];
      const quiet = new LineProgress('hashing', 100, 'bytes', (l) => quietLines.push(l), 1000);
      quiet.advance(100);
      quiet.done();
      expect(quietLines).toEqual([]);

      const lines: string[] = [];
      const progress = new LineProgress('uploading', 4096, 'bytes', (l) => lines.push(l), 1000);
      vi.advanceTimersByTime(1500);
      progress.advance(1024);
      vi.advanceTimersByTime(200);
      progress.advance(1024); // within the interval: no line
      vi.advanceTimersByTime(1000);
      progress.advance(1024);
      vi.advanceTimersByTime(100);
      progress.advance(1024);
      progress.done();
      progress.done();
      expect(lines).toEqual([
        'uploading: 1.0 KiB / 4.0 KiB (25%, 1.5 s)',
        'uploading: 3.0 KiB / 4.0 KiB (75%, 2.7 s)',
        'uploading: 4.0 KiB / 4.0 KiB (100%, 2.8 s)',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])('%d → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('SecretMasker', () => {
  it('masks every occurrence of every secret, and ignores values too short to be secrets', () => {
    const masker = new SecretMasker();
    masker.add('hunter22');
    masker.add('ab');
    expect(masker.mask('pw hunter22 and hunter22, ab')).toBe('pw *** and ***, ab');
  });
});
