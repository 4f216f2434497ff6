// Office hours in Europe/Rome: open or not at an instant, and when staff will next answer.
import { describe, expect, it } from 'vitest';
import { formatOpening, isOpen, nextOpening, parseOfficeHours } from '../../../src/citizen/service/office-hours.js';

const ZONE = 'Europe/Rome';
const hours = parseOfficeHours('mon-fri 09:00-13:00, tue,thu 15:00-17:30', ZONE);
// 24 Nov 2026 is a Tuesday; Rome is UTC+1 in winter.
const at = (iso: string) => new Date(iso);

describe('parseOfficeHours', () => {
  it('reads day ranges and lists, Italian names too', () => {
    expect(hours.week.map((d) => d.map((i) => `${i.from}-${i.to}`))).toEqual([['540-780'], ['540-780', '900-1050'], ['540-780'], ['540-780', '900-1050'], ['540-780'], [], []]);
    expect(parseOfficeHours('lun-ven 8:30-12:30; sab 9:00-12:00', ZONE).week[5]).toEqual([{ from: 540, to: 720 }]);
    expect(parseOfficeHours('fri-mon 10:00-11:00', ZONE).week.map((d) => d.length)).toEqual([1, 0, 0, 0, 1, 1, 1]);
  });

  it.each([
    ['', /^empty/],
    ['weekdays 9-13', /^cannot read "weekdays 9-13"/],
    ['mon 13:00-09:00', /the end must come after the start/],
    ['mon 25:00-26:00', /not a time of day/],
    ['mon 09:00-13:00, mon 12:00-14:00', /overlapping hours on mon/],
  ])('refuses %j', (spec, message) => {
    expect(() => parseOfficeHours(spec, ZONE)).toThrow(message);
  });
});

describe('isOpen / nextOpening / formatOpening', () => {
  it('open inside an interval, closed outside', () => {
    expect(isOpen(hours, at('2026-11-24T08:00:00Z'))).toBe(true); // Tue 09:00
    expect(isOpen(hours, at('2026-11-24T12:00:00Z'))).toBe(false); // Tue 13:00: end excluded
    expect(isOpen(hours, at('2026-11-24T14:30:00Z'))).toBe(true); // Tue 15:30
    expect(isOpen(hours, at('2026-11-25T14:30:00Z'))).toBe(false); // Wed 15:30
  });

  it('the next opening: now when open, later today, tomorrow, after the weekend', () => {
    const now = at('2026-11-24T08:30:00Z');
    expect(nextOpening(hours, now)).toBe(now);
    const lunch = at('2026-11-24T12:30:00Z'); // Tue 13:30
    expect(nextOpening(hours, lunch)!.toISOString()).toBe('2026-11-24T14:00:00.000Z');
    expect(formatOpening(nextOpening(hours, lunch)!, lunch, ZONE)).toBe('oggi alle 15:00');
    const evening = at('2026-11-24T18:00:00Z'); // Tue 19:00
    expect(formatOpening(nextOpening(hours, evening)!, evening, ZONE)).toBe('domani alle 09:00');
    const friday = at('2026-11-27T13:00:00Z'); // Fri 14:00
    expect(nextOpening(hours, friday)!.toISOString()).toBe('2026-11-30T08:00:00.000Z');
    expect(formatOpening(nextOpening(hours, friday)!, friday, ZONE)).toBe('lunedì 30 novembre alle 09:00');
  });

  it('across the DST change: Monday 30 March 2026 opens at 09:00 CEST (07:00 UTC)', () => {
    const saturday = at('2026-03-28T12:00:00Z');
    expect(nextOpening(hours, saturday)!.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });

  it('a week without hours has no next opening', () => {
    expect(nextOpening({ zone: ZONE, week: [[], [], [], [], [], [], []] }, at('2026-11-24T08:00:00Z'))).toBeNull();
  });
});
