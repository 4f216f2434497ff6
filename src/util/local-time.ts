// Local wall-clock times of a named time zone <-> instants, with Intl only (no tz library).
// Back-offices keep appointment times as Europe/Rome wall-clock values in columns without a
// time zone; the connectors read them as text and convert here, with the zone stated explicitly.
//
// DST rule (the same as Temporal's `disambiguation: 'compatible'` and java.time's
// ZonedDateTime.of): a wall time in the spring-forward gap (29 Mar 2026, 02:00-02:59 in
// Europe/Rome) is moved forward by the gap, so 02:30 becomes 03:30 CEST; a wall time that occurs
// twice in the autumn overlap (25 Oct 2026, 02:00-02:59) is the EARLIER instant (CEST, +02:00).
// Deterministic, and a reminder is never silently dropped.

/** A wall-clock time with no zone. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?$/;
const DAY_MS = 86_400_000;

/**
 * Parses 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.fffffff]]' or the same with 'T' (the text forms
 * every supported database returns). Fractions beyond milliseconds are truncated. Returns null
 * when the text is not such a value or names an impossible date or time (31 Feb, 24:00 ...).
 */
export function parseWallTime(text: string): WallTime | null {
  const m = WALL_TIME.exec(text.trim());
  if (!m) return null;
  const wall: WallTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    millisecond: Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)),
  };
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) return null;
  const d = new Date(wallAsUtcMs(wall));
  if (d.getUTCFullYear() !== wall.year || d.getUTCMonth() + 1 !== wall.month || d.getUTCDate() !== wall.day) return null;
  return wall;
}

/** The wall time read as if it were UTC: the arithmetic base for the zone offset search. */
function wallAsUtcMs(w: WallTime): number {
  const d = new Date(Date.UTC(2000, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond));
  d.setUTCFullYear(w.year); // Date.UTC maps years 0-99 to 1900-1999
  return d.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** True when Intl knows the zone (e.g. "Europe/Rome"). */
export function isValidTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time the zone shows at an instant. */
export function wallTimeAt(instant: Date, zone: string): WallTime {
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new RangeError('invalid Date');
  const d = new Date(ms + offsetMs(ms, zone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

/** Intl's own reading of the zone's clock (slow: a few microseconds a call). */
function intlWallTimeAt(instant: Date, zone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(instant)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    millisecond: ((instant.getTime() % 1000) + 1000) % 1000,
  };
}

// Offsets change only at a zone's transitions, and every transition since 1900 falls on a whole
// quarter hour (UTC): within one quarter hour the offset is the one at its start. A backfill
// converts millions of times, so the offset of each quarter is asked of Intl once and kept.
const QUARTER_MS = 15 * 60_000;
const offsets = new Map<string, Map<number, number>>();

/** Zone offset (wall minus UTC) in ms at an instant. */
export function offsetMs(instantMs: number, zone: string): number {
  let byQuarter = offsets.get(zone);
  if (!byQuarter) offsets.set(zone, (byQuarter = new Map()));
  const quarter = Math.floor(instantMs / QUARTER_MS);
  let offset = byQuarter.get(quarter);
  if (offset === undefined) {
    const start = quarter * QUARTER_MS;
    offset = wallAsUtcMs(intlWallTimeAt(new Date(start), zone)) - start;
    if (byQuarter.size >= 100_000) byQuarter.clear(); // bounded: ~3 years of quarters per zone
    byQuarter.set(quarter, offset);
  }
  return offset;
}

/**
 * The instant at which the zone's clock shows this wall time. Accepts the text forms of
 * parseWallTime or a WallTime; throws a RangeError for anything else. See the DST rule above.
 */
export function wallTimeToInstant(wall: string | WallTime, zone: string): Date {
  const w = typeof wall === 'string' ? parseWallTime(wall) : wall;
  if (!w) throw new RangeError('not a wall time (expected YYYY-MM-DD HH:MM:SS)');
  const local = wallAsUtcMs(w);
  // Offsets a day either side bracket any single DST transition near this wall time.
  const before = offsetMs(local - DAY_MS, zone);
  const after = offsetMs(local + DAY_MS, zone);
  const valid = [local - before, local - after].filter((t) => offsetMs(t, zone) === local - t);
  // Overlap: two valid instants, take the earlier. Gap: none, shift forward by using the offset
  // in force before the transition.
  return new Date(valid.length ? Math.min(...valid) : local - before);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** 'YYYY-MM-DD' */
export function formatDate(w: Pick<WallTime, 'year' | 'month' | 'day'>): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** 'YYYY-MM-DD HH:MM:SS' (sep ' ') or 'YYYY-MM-DDTHH:MM:SS' (sep 'T'); milliseconds dropped. */
export function formatWallTime(w: WallTime, sep: ' ' | 'T' = ' '): string {
  return `${formatDate(w)}${sep}${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** The zone's wall-clock time at an instant as 'YYYY-MM-DD HH:MM:SS' (for SQL window bounds). */
export function instantToWallTime(instant: Date, zone: string): string {
  return formatWallTime(wallTimeAt(instant, zone));
}

/** The zone's calendar date at an instant, 'YYYY-MM-DD'. */
export function localDateOf(instant: Date, zone: string): string {
  return formatDate(wallTimeAt(instant, zone));
}

/** Calendar arithmetic on 'YYYY-MM-DD' (no zone involved). */
export function addDays(date: string, days: number): string {
  const w = parseWallTime(date);
  if (!w) throw new RangeError('not a date (expected YYYY-MM-DD)');
  const d = new Date(wallAsUtcMs({ ...w, hour: 0, minute: 0, second: 0, millisecond: 0 }) + days * DAY_MS);
  return formatDate({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
}
