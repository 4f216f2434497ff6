// When staff answer: "mon-fri 09:00-13:00, tue,thu 15:00-17:30" in a named time zone, so the bot
// can say, out of hours, when someone will reply. Wall-clock and DST via util/local-time.
import { addDays, localDateOf, wallTimeAt, wallTimeToInstant } from '../../util/local-time.js';

export interface Interval {
  /** Minutes from local midnight; from < to. */
  from: number;
  to: number;
}

export interface OfficeHours {
  zone: string;
  /** Monday (0) … Sunday (6): that day's intervals, sorted. */
  week: Interval[][];
}

// English and Italian abbreviations, Monday first.
const DAY_NAMES: Record<string, number> = {
  mon: 0, tue: 1, wed: 2, thu: 3, fri: 4, sat: 5, sun: 6,
  lun: 0, mar: 1, mer: 2, gio: 3, ven: 4, sab: 5, dom: 6,
};
const DAY = `(?:${Object.keys(DAY_NAMES).join('|')})`;
const DAY_ITEM = `${DAY}(?:\\s*-\\s*${DAY})?`;
const GROUP = new RegExp(`\\s*(${DAY_ITEM}(?:\\s*,\\s*${DAY_ITEM})*)\\s+(\\d{1,2}):(\\d{2})\\s*-\\s*(\\d{1,2}):(\\d{2})\\s*(?:[,;]|$)`, 'iy');

const FORMAT = 'expected groups like "mon-fri 09:00-13:00, tue,thu 15:00-17:30" (days mon…sun or lun…dom)';

/** Parses the office-hours text; throws an Error whose message says what is wrong. */
export function parseOfficeHours(spec: string, zone: string): OfficeHours {
  const week: Interval[][] = Array.from({ length: 7 }, () => []);
  const text = spec.trim();
  if (text === '') throw new Error(`empty: ${FORMAT}`);
  GROUP.lastIndex = 0;
  while (GROUP.lastIndex < text.length) {
    const at = GROUP.lastIndex;
    const m = GROUP.exec(text);
    if (!m) throw new Error(`cannot read "${text.slice(at).trim()}": ${FORMAT}`);
    const [, days, h1, m1, h2, m2] = m;
    const from = clock(Number(h1), Number(m1), m[0]);
    const to = clock(Number(h2), Number(m2), m[0]);
    if (from >= to) throw new Error(`"${m[0].trim().replace(/[,;]$/, '')}": the end must come after the start (no overnight hours)`);
    for (const day of expandDays(days!)) week[day]!.push({ from, to });
  }
  for (const [i, intervals] of week.entries()) {
    intervals.sort((a, b) => a.from - b.from);
    for (let k = 1; k < intervals.length; k++) {
      if (intervals[k]!.from < intervals[k - 1]!.to) throw new Error(`overlapping hours on ${Object.keys(DAY_NAMES)[i]}`);
    }
  }
  return { zone, week };
}

function clock(h: number, m: number, group: string): number {
  if (h > 24 || m > 59 || (h === 24 && m > 0)) throw new Error(`"${group.trim()}": not a time of day`);
  return h * 60 + m;
}

function expandDays(list: string): number[] {
  const out: number[] = [];
  for (const item of list.split(',')) {
    const [a, b] = item.split('-').map((s) => DAY_NAMES[s.trim().toLowerCase()]!);
    if (b === undefined) out.push(a!);
    else for (let d = a!; ; d = (d + 1) % 7) {
      out.push(d);
      if (d === b) break;
    }
  }
  return out;
}

/** Monday = 0 … Sunday = 6 of a 'YYYY-MM-DD' date. */
function weekday(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return (new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay() + 6) % 7;
}

export function isOpen(hours: OfficeHours, now: Date): boolean {
  const w = wallTimeAt(now, hours.zone);
  const t = w.hour * 60 + w.minute;
  return hours.week[weekday(localDateOf(now, hours.zone))]!.some((i) => t >= i.from && t < i.to);
}

/** `now` if the office is open, else the start of the next opening; null if the week has no hours. */
export function nextOpening(hours: OfficeHours, now: Date): Date | null {
  if (isOpen(hours, now)) return now;
  const today = localDateOf(now, hours.zone);
  for (let d = 0; d <= 7; d++) {
    const date = addDays(today, d);
    for (const i of hours.week[weekday(date)]!) {
      const start = wallTimeToInstant(`${date} ${hhmm(i.from)}:00`, hours.zone);
      if (start.getTime() > now.getTime()) return start;
    }
  }
  return null;
}

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

const WEEKDAYS_IT = ['lunedì', 'martedì', 'mercoledì', 'giovedì', 'venerdì', 'sabato', 'domenica'];
const MONTHS_IT = ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre', 'dicembre'];

/** "oggi alle 15:00", "domani alle 09:00", "lunedì 30 novembre alle 09:00": the {{next}} of closedText. */
export function formatOpening(at: Date, now: Date, zone: string): string {
  const w = wallTimeAt(at, zone);
  const date = localDateOf(at, zone);
  const today = localDateOf(now, zone);
  const time = hhmm(w.hour * 60 + w.minute);
  if (date === today) return `oggi alle ${time}`;
  if (date === addDays(today, 1)) return `domani alle ${time}`;
  return `${WEEKDAYS_IT[weekday(date)]} ${w.day} ${MONTHS_IT[w.month - 1]} alle ${time}`;
}
