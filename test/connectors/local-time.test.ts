import { describe, expect, it } from 'vitest';
import { addDays, instantToWallTime, isValidTimeZone, localDateOf, parseWallTime, wallTimeToInstant } from '../../src/util/local-time.js';

const ROME = 'Europe/Rome';
const iso = (wall: string) => wallTimeToInstant(wall, ROME).toISOString();

describe('wallTimeToInstant in Europe/Rome', () => {
  it('converts winter and summer times with their offsets', () => {
    expect(iso('2026-01-15 10:00:00')).toBe('2026-01-15T09:00:00.000Z');
    expect(iso('2026-07-15 10:00:00')).toBe('2026-07-15T08:00:00.000Z');
  });

  it('spring forward, 29 March 2026: times in the gap move forward by an hour', () => {
    expect(iso('2026-03-29 01:59:59')).toBe('2026-03-29T00:59:59.000Z');
    expect(iso('2026-03-29 02:00:00')).toBe('2026-03-29T01:00:00.000Z'); // = 03:00 CEST
    expect(iso('2026-03-29 02:30:00')).toBe('2026-03-29T01:30:00.000Z'); // = 03:30 CEST
    expect(iso('2026-03-29 03:00:00')).toBe('2026-03-29T01:00:00.000Z');
    expect(instantToWallTime(wallTimeToInstant('2026-03-29 02:30:00', ROME), ROME)).toBe('2026-03-29 03:30:00');
  });

  it('fall back, 25 October 2026: repeated times take the earlier instant (CEST)', () => {
    expect(iso('2026-10-25 01:59:59')).toBe('2026-10-24T23:59:59.000Z');
    expect(iso('2026-10-25 02:00:00')).toBe('2026-10-25T00:00:00.000Z');
    expect(iso('2026-10-25 02:30:00')).toBe('2026-10-25T00:30:00.000Z');
    expect(iso('2026-10-25 02:59:59')).toBe('2026-10-25T00:59:59.000Z');
    expect(iso('2026-10-25 03:00:00')).toBe('2026-10-25T02:00:00.000Z');
  });

  it('accepts the text forms the databases return', () => {
    expect(iso('2026-03-29T10:00:00.000000')).toBe('2026-03-29T08:00:00.000Z'); // pg / mysql
    expect(iso('2026-03-29T10:00:00.1234567')).toBe('2026-03-29T08:00:00.123Z'); // mssql datetime2, truncated
    expect(iso('2026-03-29T10:00:00')).toBe('2026-03-29T08:00:00.000Z'); // mssql style 126, no fraction
    expect(iso('2026-03-29 10:00')).toBe('2026-03-29T08:00:00.000Z');
    expect(iso('2026-03-29')).toBe('2026-03-28T23:00:00.000Z');
  });

  it('rejects impossible or foreign values', () => {
    for (const bad of ['2026-02-29 10:00:00', '2026-13-01', '2026-03-29 24:00:00', '2026-03-29 10:60:00', '29/03/2026 10:00', '', 'domani', '1774771200000']) {
      expect(parseWallTime(bad), bad).toBeNull();
      expect(() => wallTimeToInstant(bad, ROME)).toThrow(RangeError);
    }
    expect(parseWallTime('2028-02-29 10:00:00')).not.toBeNull();
  });

  it('works for other zones', () => {
    expect(wallTimeToInstant('2026-03-08 02:30:00', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z'); // gap -> 03:30 EDT
    expect(wallTimeToInstant('2026-03-29 10:00:00', 'UTC').toISOString()).toBe('2026-03-29T10:00:00.000Z');
  });
});

describe('instant -> wall time', () => {
  it('formats query bounds on both sides of the DST changes', () => {
    expect(instantToWallTime(new Date('2026-03-29T00:59:59Z'), ROME)).toBe('2026-03-29 01:59:59');
    expect(instantToWallTime(new Date('2026-03-29T01:00:00Z'), ROME)).toBe('2026-03-29 03:00:00');
    expect(instantToWallTime(new Date('2026-10-25T00:30:00Z'), ROME)).toBe('2026-10-25 02:30:00');
    expect(instantToWallTime(new Date('2026-10-25T01:30:00Z'), ROME)).toBe('2026-10-25 02:30:00');
  });

  it('gives the local calendar date near midnight', () => {
    expect(localDateOf(new Date('2026-03-28T23:30:00Z'), ROME)).toBe('2026-03-29');
    expect(localDateOf(new Date('2026-03-28T22:59:59Z'), ROME)).toBe('2026-03-28');
  });

  it('round-trips every quarter hour of both DST days except the gap', () => {
    for (const day of ['2026-03-29', '2026-10-25']) {
      for (let q = 0; q < 96; q++) {
        const wall = `${day} ${String(Math.floor(q / 4)).padStart(2, '0')}:${String((q % 4) * 15).padStart(2, '0')}:00`;
        const back = instantToWallTime(wallTimeToInstant(wall, ROME), ROME);
        if (day === '2026-03-29' && wall.slice(11, 13) === '02') expect(back.slice(11, 13)).toBe('03');
        else expect(back).toBe(wall);
      }
    }
  });
});

describe('calendar helpers', () => {
  it('adds days across months, years and leap days', () => {
    expect(addDays('2026-03-28', 31)).toBe('2026-04-28');
    expect(addDays('2026-04-04', -30)).toBe('2026-03-05');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
  });

  it('knows valid zones', () => {
    expect(isValidTimeZone('Europe/Rome')).toBe(true);
    expect(isValidTimeZone('Europe/Roma')).toBe(false);
  });
});

describe('wallTimeAt agrees with Intl everywhere (its offsets are cached per quarter hour)', () => {
  const zones = ['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'UTC'];
  it('at 20,000 seeded instants from 1970 to 2040, and at every minute around 2026 transitions', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const instants = Array.from({ length: 20_000 }, () => Math.floor(next() * Date.UTC(2040, 0, 1)));
    // Around the 2026 changes of Rome (29 Mar, 25 Oct, 01:00 UTC) and Lord Howe (half-hour DST).
    for (const t of [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 3, 4, 15), Date.UTC(2026, 9, 3, 15, 30)]) {
      for (let m = -90; m <= 90; m++) instants.push(t + m * 60_000 + 59_999);
    }
    for (const zone of zones) {
      const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      for (const ms of instants) {
        const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
        const want = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
        const got = instantToWallTime(new Date(ms), zone);
        if (got !== want) expect(`${zone} ${new Date(ms).toISOString()}: ${got}`).toBe(`${zone} ${new Date(ms).toISOString()}: ${want}`);
      }
    }
  });
});
