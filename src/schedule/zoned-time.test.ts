import { describe, expect, it } from 'vitest';
import { checkTimeZone, offsetAt, wallClock, wallToInstant, zoneClock } from './zoned-time.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
/** A wall time written as ISO without zone, as floating ms. */
const wall = (text: string) => Date.parse(`${text}Z`);

describe('zoned time', () => {
  it('checks timezone names', () => {
    expect(checkTimeZone('Europe/Berlin')).toBeUndefined();
    expect(checkTimeZone('UTC')).toBeUndefined();
    expect(checkTimeZone('Mars/Olympus')).toMatch(/unknown timezone 'Mars\/Olympus'/);
    expect(checkTimeZone('-05:00')).toMatch(/unknown timezone/);
  });
  it('reads offsets and wall clocks, including half-hour ones', () => {
    expect(offsetAt('Europe/Berlin', at('2026-01-15T12:00Z'))).toBe(H);
    expect(offsetAt('Europe/Berlin', at('2026-07-15T12:00Z'))).toBe(2 * H);
    expect(offsetAt('Asia/Kolkata', at('2026-07-15T12:00Z'))).toBe(5.5 * H);
    expect(offsetAt('Australia/Lord_Howe', at('2026-07-15T12:00Z'))).toBe(10.5 * H);
    expect(offsetAt('Australia/Lord_Howe', at('2026-12-15T12:00Z'))).toBe(11 * H);
    expect(wallClock('America/New_York', at('2026-03-08T07:00:00.123Z'))).toBe(
      wall('2026-03-08T03:00:00.123'),
    );
  });
  it('converts wall times: normal, in a gap, and repeated', () => {
    expect(wallToInstant('Europe/Berlin', wall('2026-03-29T01:59'))).toBe(at('2026-03-29T00:59Z'));
    expect(wallToInstant('Europe/Berlin', wall('2026-03-29T02:00'))).toBe(at('2026-03-29T01:00Z'));
    expect(wallToInstant('Europe/Berlin', wall('2026-03-29T02:59'))).toBe(at('2026-03-29T01:00Z'));
    expect(wallToInstant('Europe/Berlin', wall('2026-03-29T03:00'))).toBe(at('2026-03-29T01:00Z'));
    expect(wallToInstant('Europe/Berlin', wall('2026-10-25T02:00'))).toBe(at('2026-10-25T00:00Z'));
    expect(wallToInstant('Europe/Berlin', wall('2026-10-25T03:00'))).toBe(at('2026-10-25T02:00Z'));
    expect(wallToInstant('America/New_York', wall('2026-11-01T01:30'))).toBe(at('2026-11-01T05:30Z'));
  });
  it('handles a gap at midnight and a skipped day', () => {
    // America/Sao_Paulo started DST at midnight until 2018: 2018-11-04 00:00-01:00 did not exist.
    expect(wallToInstant('America/Sao_Paulo', wall('2018-11-04T00:30'))).toBe(at('2018-11-04T03:00Z'));
    // Pacific/Apia skipped 2011-12-30 entirely (-10 to +14).
    expect(wallToInstant('Pacific/Apia', wall('2011-12-30T12:00'))).toBe(at('2011-12-30T10:00Z'));
    expect(wallClock('Pacific/Apia', at('2011-12-30T10:00Z'))).toBe(wall('2011-12-31T00:00'));
  });
  it('a zone clock over a long span agrees with single conversions, inside and outside its span', () => {
    const clock = zoneClock('Australia/Sydney', at('2025-01-01T00:00Z'), at('2029-01-01T00:00Z'));
    for (let w = wall('2025-01-02T00:00'); w < wall('2028-12-30T00:00'); w += 7 * H + 13 * 60_000) {
      expect(clock.toInstant(w)).toBe(wallToInstant('Australia/Sydney', w));
    }
    expect(clock.toInstant(wall('2030-04-07T02:30'))).toBe(at('2030-04-06T15:30Z'));
    expect(clock.offsetAt(at('2031-01-01T00:00Z'))).toBe(11 * H);
  });
});
