import { describe, expect, it } from 'vitest';
import { describeInstant, describeInstantForUser, describeSoon } from './describe-instant.js';

const at = (iso: string) => Date.parse(iso);

describe('describeInstant', () => {
  it('gives the wall-clock time in the zone, with UTC alongside', () => {
    expect(describeInstant(at('2026-12-05T21:00Z'), 'Europe/Berlin')).toBe(
      '2026-12-05 22:00 Europe/Berlin (21:00 UTC)',
    );
    expect(describeInstant(at('2026-07-05T21:00Z'), 'Europe/Berlin')).toBe(
      '2026-07-05 23:00 Europe/Berlin (21:00 UTC)',
    );
    expect(describeInstant(at('2026-12-05T16:30Z'), 'Asia/Kolkata')).toBe(
      '2026-12-05 22:00 Asia/Kolkata (16:30 UTC)',
    );
  });
  it('shows the UTC date when it differs, seconds when not zero, and UTC once', () => {
    expect(describeInstant(at('2026-12-31T23:30Z'), 'Europe/Berlin')).toBe(
      '2027-01-01 00:30 Europe/Berlin (2026-12-31 23:30 UTC)',
    );
    expect(describeInstant(at('2026-12-05T21:00:30Z'), 'UTC')).toBe('2026-12-05 21:00:30 UTC');
    expect(describeInstant(at('2026-12-05T21:00Z'), 'Etc/UTC')).toBe('2026-12-05 21:00 UTC');
  });
  it('tells the two 02:30 of a fall-back night apart by their UTC time', () => {
    expect(describeInstant(at('2026-10-25T00:30Z'), 'Europe/Berlin')).toBe(
      '2026-10-25 02:30 Europe/Berlin (00:30 UTC)',
    );
    expect(describeInstant(at('2026-10-25T01:30Z'), 'Europe/Berlin')).toBe(
      '2026-10-25 02:30 Europe/Berlin (01:30 UTC)',
    );
  });
});

describe('describeInstantForUser', () => {
  const ms = at('2026-12-05T21:00Z');
  it("adds the reader's time when their zone is another", () => {
    expect(describeInstantForUser(ms, 'Europe/Berlin', 'America/New_York')).toBe(
      '2026-12-05 22:00 Europe/Berlin (21:00 UTC; your time 16:00 America/New_York)',
    );
    expect(describeInstantForUser(ms, 'Europe/Berlin', 'Asia/Tokyo')).toBe(
      '2026-12-05 22:00 Europe/Berlin (21:00 UTC; your time 2026-12-06 06:00 Asia/Tokyo)',
    );
    expect(describeInstantForUser(ms, 'UTC', 'Europe/Berlin')).toBe(
      '2026-12-05 21:00 UTC (your time 22:00 Europe/Berlin)',
    );
  });
  it('adds nothing when the reader is in the same zone or in UTC', () => {
    expect(describeInstantForUser(ms, 'Europe/Berlin', 'Europe/Berlin')).toBe(
      describeInstant(ms, 'Europe/Berlin'),
    );
    expect(describeInstantForUser(ms, 'Europe/Berlin', 'UTC')).toBe(describeInstant(ms, 'Europe/Berlin'));
  });
  it("defaults to this machine's zone", () => {
    expect(describeInstantForUser(ms, 'Europe/Berlin')).toMatch(
      /^2026-12-05 22:00 Europe\/Berlin \(21:00 UTC/,
    );
  });
});

describe('describeSoon', () => {
  it('gives the time alone on the same local day, else the date too', () => {
    const now = at('2026-12-05T20:00Z');
    expect(describeSoon(at('2026-12-05T22:30Z'), 'Europe/Berlin', now)).toBe('23:30 Europe/Berlin');
    expect(describeSoon(at('2026-12-05T23:30Z'), 'Europe/Berlin', now)).toBe(
      '2026-12-06 00:30 Europe/Berlin',
    );
    expect(describeSoon(at('2026-11-30T00:00Z'), 'UTC', now)).toBe('2026-11-30 00:00 UTC');
  });
});
