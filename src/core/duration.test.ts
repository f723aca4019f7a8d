import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it('parses units and combinations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2d')).toBe(172_800_000);
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['', '5', 'forever', '-5s', '10y', '5 s', 's', '1h 30m'])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('formats for people', () => {
    expect([999, 1500, 59_400, 61_000, 3_659_000, 5_400_000].map(formatDuration)).toEqual([
      '999ms',
      '1.5s',
      '59s',
      '1m1s',
      '1h1m',
      '1h30m',
    ]);
  });

  it('formats what it parses back to about the same value (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 7_200_000 }), fc.integer({ min: 0, max: 10 * 86_400_000 })),
        (ms) => {
          const back = parseDuration(formatDuration(ms)) as number;
          expect(Math.abs(back - ms)).toBeLessThanOrEqual(Math.max(500, ms * 0.01));
        },
      ),
    );
  });
});
