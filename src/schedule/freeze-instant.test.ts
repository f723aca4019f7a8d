import { describe, expect, it } from 'vitest';
import { parseFreezeInstant } from './freeze-instant.js';

const at = (iso: string) => Date.parse(iso);

describe('parseFreezeInstant', () => {
  it('reads a date alone as the start of that day in the timezone, or of the next with edge "end"', () => {
    expect(parseFreezeInstant('2026-12-20', 'Europe/Berlin')).toBe(at('2026-12-19T23:00Z'));
    expect(parseFreezeInstant('2026-12-20', 'Europe/Berlin', 'end')).toBe(at('2026-12-20T23:00Z'));
    expect(parseFreezeInstant('2026-12-20', 'UTC')).toBe(at('2026-12-20T00:00Z'));
    expect(parseFreezeInstant('2026-12-31', 'UTC', 'end')).toBe(at('2027-01-01T00:00Z'));
  });
  it('reads a date-time without an offset in the timezone (winter and summer)', () => {
    expect(parseFreezeInstant('2026-12-20T18:00', 'Europe/Berlin')).toBe(at('2026-12-20T17:00Z'));
    expect(parseFreezeInstant('2026-07-01T12:00', 'Europe/Berlin')).toBe(at('2026-07-01T10:00Z'));
    expect(parseFreezeInstant('2026-12-20 18:00:30', 'Asia/Kolkata')).toBe(at('2026-12-20T12:30:30Z'));
    expect(parseFreezeInstant('2026-12-20T18:00:00.250', 'UTC')).toBe(at('2026-12-20T18:00:00.250Z'));
    // With a time, edge "end" changes nothing: the instant is the end.
    expect(parseFreezeInstant('2026-12-20T18:00', 'UTC', 'end')).toBe(at('2026-12-20T18:00Z'));
  });
  it('uses an explicit offset or Z whatever the timezone', () => {
    expect(parseFreezeInstant('2026-12-20T18:00+01:00', 'America/New_York')).toBe(at('2026-12-20T17:00Z'));
    expect(parseFreezeInstant('2026-12-20T18:00-05:30', 'UTC')).toBe(at('2026-12-20T23:30Z'));
    expect(parseFreezeInstant('2026-12-20T18:00+0100', 'UTC')).toBe(at('2026-12-20T17:00Z'));
    expect(parseFreezeInstant('2026-12-20T18:00Z', 'Europe/Berlin')).toBe(at('2026-12-20T18:00Z'));
  });
  it('applies the DST rules: a time in the gap is its end, a repeated time its first occurrence', () => {
    expect(parseFreezeInstant('2026-03-29T02:30', 'Europe/Berlin')).toBe(at('2026-03-29T01:00Z'));
    expect(parseFreezeInstant('2026-10-25T02:30', 'Europe/Berlin')).toBe(at('2026-10-25T00:30Z'));
  });
  it.each([
    ['2026-02-30'],
    ['2026-13-01'],
    ['2026-12-20T24:00'],
    ['2026-12-20T18:60'],
    ['2026-12-20T18'],
    ['2026-12-20+01:00'],
    ['2026-12-20T18:00+25:00'],
    ['20.12.2026'],
    ['26-12-20'],
    ['tomorrow'],
    [''],
  ])('is undefined for %j', (text) => {
    expect(parseFreezeInstant(text, 'UTC')).toBeUndefined();
  });
  it('is undefined for an unknown timezone when the text needs one', () => {
    expect(parseFreezeInstant('2026-12-20', 'Mars/Olympus')).toBeUndefined();
    expect(parseFreezeInstant('2026-12-20T18:00Z', 'Mars/Olympus')).toBe(at('2026-12-20T18:00Z'));
  });
});
