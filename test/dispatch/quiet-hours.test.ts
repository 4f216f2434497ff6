import { describe, expect, it } from 'vitest';
import { quietUntil } from '../../src/dispatch/quiet-hours.js';

const Z = 'Europe/Rome';
const at = (iso: string) => Date.parse(iso);
const night = { from: '21:00', to: '08:00' };

describe('quiet hours (Europe/Rome)', () => {
  it('overnight window: evening waits for tomorrow 08:00, early morning for today 08:00, daytime goes', () => {
    expect(quietUntil(at('2026-11-24T20:30:00Z'), night, Z)).toBe(at('2026-11-25T07:00:00Z')); // 21:30 CET → 08:00 CET
    expect(quietUntil(at('2026-11-24T05:00:00Z'), night, Z)).toBe(at('2026-11-24T07:00:00Z')); // 06:00 CET
    expect(quietUntil(at('2026-11-24T19:59:59Z'), night, Z)).toBeNull(); // 20:59:59 CET
    expect(quietUntil(at('2026-11-24T20:00:00Z'), night, Z)).toBe(at('2026-11-25T07:00:00Z')); // 21:00 sharp is quiet
    expect(quietUntil(at('2026-11-24T07:00:00Z'), night, Z)).toBeNull(); // 08:00 sharp is allowed
  });

  it('DST: the night of 28-29 March 2026 ends at 08:00 CEST (06:00Z), not 07:00Z', () => {
    expect(quietUntil(at('2026-03-28T21:00:00Z'), night, Z)).toBe(at('2026-03-29T06:00:00Z'));
    expect(quietUntil(at('2026-10-24T20:30:00Z'), night, Z)).toBe(at('2026-10-25T07:00:00Z')); // back to CET
  });

  it('a daytime window and an empty one', () => {
    const lunch = { from: '13:00', to: '15:00' };
    expect(quietUntil(at('2026-11-24T12:30:00Z'), lunch, Z)).toBe(at('2026-11-24T14:00:00Z'));
    expect(quietUntil(at('2026-11-24T14:00:00Z'), lunch, Z)).toBeNull();
    expect(quietUntil(at('2026-11-24T12:30:00Z'), { from: '10:00', to: '10:00' }, Z)).toBeNull();
  });
});
