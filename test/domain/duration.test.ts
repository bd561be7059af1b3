import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/domain/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5m', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['0s', 0],
  ])('reads %s as %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'soon', '5', '5 m', '-1s', '1d', 'm5'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
