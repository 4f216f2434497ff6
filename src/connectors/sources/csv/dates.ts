// Dates as Italian exports write them: 30/11/2026, 30/11/2026 23:59, 30-11-2026 23.59.00, and
// ISO (2026-11-30 23:59:00). The year's place tells the two apart, so there is nothing to
// configure and no month/day guessing (no Italian software writes mm/dd).
import { instantToWallTime } from '../../../util/local-time.js';

/** JSON APIs often send instants (2026-11-24T09:30:00Z, …+01:00): they become the zone's wall time. */
const ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

const ITALIAN = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,9}))?)?)?$/;

/** The wall time as 'YYYY-MM-DD HH:MM:SS[.f]' (what parseWallTime reads), or the text unchanged. */
export function isoWallText(text: string, zone?: string): string {
  const t = text.trim();
  if (zone && ZONED.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return `${instantToWallTime(new Date(ms), zone)}.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}`;
  }
  const m = ITALIAN.exec(t);
  if (!m) return t;
  const two = (s: string | undefined) => (s ?? '0').padStart(2, '0');
  const date = `${m[3]}-${two(m[2])}-${two(m[1])}`;
  if (m[4] === undefined) return date;
  return `${date} ${two(m[4])}:${m[5]}:${two(m[6])}${m[7] ? `.${m[7]}` : ''}`;
}
