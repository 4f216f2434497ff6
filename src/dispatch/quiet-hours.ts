// Quiet hours: a send due inside them waits for their end (local time, DST-aware); it is never
// dropped, and never sent after the event's expiry.
import { addDays, localDateOf, wallTimeAt, wallTimeToInstant } from '../util/local-time.js';

export interface QuietHours {
  from: string; // "21:00"
  to: string;   // "08:00"
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The instant the quiet period containing `now` ends, or null when `now` is not in one. */
export function quietUntil(now: number, q: QuietHours, zone: string): number | null {
  const from = minutes(q.from);
  const to = minutes(q.to);
  if (from === to) return null;
  const wall = wallTimeAt(new Date(now), zone);
  const t = wall.hour * 60 + wall.minute;
  const today = localDateOf(new Date(now), zone);
  const endOn = (date: string) => wallTimeToInstant(`${date} ${q.to}:00`, zone).getTime();
  if (from < to) return t >= from && t < to ? endOn(today) : null;      // e.g. 13:00–15:00
  if (t >= from) return endOn(addDays(today, 1));                       // e.g. 21:00–08:00, evening
  if (t < to) return endOn(today);                                      // … early morning
  return null;
}
