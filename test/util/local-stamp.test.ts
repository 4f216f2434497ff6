// Instants for a person: the municipality's clock with the zone's name, across DST, in any zone.
import { describe, expect, it } from 'vitest';
import { localStamp } from '../../src/util/local-stamp.js';
import { formatStatus } from '../../src/cli/status.js';

describe('localStamp', () => {
  it('shows Rome time with CET in winter and CEST in summer', () => {
    expect(localStamp(Date.UTC(2026, 11, 5, 9, 34, 22))).toBe('2026-12-05 10:34:22 CET');
    expect(localStamp(Date.UTC(2026, 6, 1, 22, 30, 0))).toBe('2026-07-02 00:30:00 CEST');
  });

  it('reads ISO text and stored millisecond text alike, and says "-" for no instant', () => {
    expect(localStamp('2026-10-25T00:30:00.000Z')).toBe('2026-10-25 02:30:00 CEST');
    expect(localStamp('2026-10-25T01:30:00.000Z')).toBe('2026-10-25 02:30:00 CET'); // the repeated hour, told apart
    expect(localStamp(String(Date.UTC(2026, 0, 1)))).toBe('2026-01-01 01:00:00 CET');
    expect(localStamp(null)).toBe('-');
  });

  it('follows a configured zone', () => {
    expect(localStamp(Date.UTC(2026, 11, 5, 9, 0, 0), 'UTC')).toBe('2026-12-05 09:00:00 UTC');
    expect(localStamp(Date.UTC(2026, 11, 5, 9, 0, 0), 'Europe/London')).toBe('2026-12-05 09:00:00 GMT');
  });

  it('ponte status shows its instants on that clock, not in UTC', () => {
    const text = formatStatus({
      generatedAt: '2026-12-05T09:00:00.000Z', deliveries: {}, totals: {}, events: 0, rowErrors: [], attention: [], fallbacks: [], alerts: [],
      consents: { optedIn: 0, optedOut: 0 }, replies: { waiting: 0, failed: 0, stale: 0 }, oldestDueSeconds: null, processes: [],
      unsent: { since: '2026-11-28T09:00:00.000Z', days: 7, groups: [] },
      connectors: [{ id: 'ztl', lastRunAt: '2026-12-05T08:59:00.000Z', lastRunStatus: 'ok', lastRunError: null, lastRun: null, leaseHeldBy: null }],
    } as unknown as Parameters<typeof formatStatus>[0]);
    expect(text.split('\n')[0]).toBe('Ponte status at 2026-12-05 10:00:00 CET');
    expect(text).toContain('ztl: last run 2026-12-05 09:59:00 CET ok');
    expect(text).toContain('ended in the last 7 days, since 2026-11-28 10:00:00 CET)');
    expect(text).not.toMatch(/\d{2}:\d{2}:\d{2}(\.\d+)?Z/);
  });
});
