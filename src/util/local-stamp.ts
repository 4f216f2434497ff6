// Instants as a person at the municipality reads them: the local clock with its zone's name
// ("2026-12-05 10:34:22 CET"), not UTC. JSON output keeps ISO instants in UTC, for machines.
import { instantToWallTime } from './local-time.js';

const names = new Map<string, Intl.DateTimeFormat>();

/** The zone's short name at that instant: CET or CEST for Europe/Rome, UTC, or GMT+n elsewhere. */
function zoneName(d: Date, zone: string): string {
  let f = names.get(zone);
  if (!f) names.set(zone, (f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'short' })));
  return f.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? zone;
}

/** 'YYYY-MM-DD HH:MM:SS CET' in the zone (default Europe/Rome); '-' for no instant. */
export function localStamp(instant: number | string | Date | null | undefined, zone = 'Europe/Rome'): string {
  if (instant == null || instant === '') return '-';
  const d = instant instanceof Date ? instant : new Date(typeof instant === 'string' && /^\d+$/.test(instant) ? Number(instant) : instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return `${instantToWallTime(d, zone)} ${zoneName(d, zone)}`;
}
