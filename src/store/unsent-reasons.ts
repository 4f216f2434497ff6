// Why deliveries did not go out: the reasons of those that ended rejected, failed or dead in a
// recent window, grouped per channel and state, so the CED sees "40 × 131026" at a glance
// instead of reading `ponte deliveries --state failed` one line at a time.
import type { Knex } from 'knex';
import { UNSENT_SQL, UNSENT_STATES } from '../../migrations/20261205_010_unsent_index.js';
import { maskText } from '../util/mask.js';

export type UnsentState = (typeof UNSENT_STATES)[number];

export interface UnsentReasons {
  /** The window: deliveries that ended (finished_at) at or after `since`, `days` before the report. */
  since: string;
  days: number;
  groups: Array<{
    channel: string;
    state: UnsentState;
    total: number;
    /** The most frequent reasons, at most `top`; `others` counts the deliveries of the rest. */
    reasons: Array<{ reason: string; count: number }>;
    others: { reasons: number; deliveries: number };
    /** Where to read them one by one. */
    see: string;
  }>;
}

export const UNSENT_WINDOW_DAYS = 7;
const TOP = 5;
/** A reason is a line of the report, not a log: the head says what happened. */
const MAX_REASON = 200;

/**
 * The reason as one group: masked (a reason quotes what the provider said, which could carry a
 * fiscal code or a number), then ids, instants and counts put as placeholders so reasons that
 * differ only by them read as one. The codes that say what happened stay: an HTTP status after
 * "→" and a WhatsApp error code after "whatsapp:" (131026 and 131049 are different stories).
 */
export function normaliseReason(text: string): string {
  let s = maskText(text)
    .replace(/\S*\*{3,}\S*/g, '***') // a masked fiscal code or number, whosever it is
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>')
    .replace(/\b(?:tel|cf)#[\w-]+/g, '<ref>') // a citizen's pseudonymous ref
    .replace(/\bwamid\.[\w=+/-]+/g, 'wamid.<id>')
    // ULIDs, UUIDs, hex and base64 ids: a long token that mixes digits and letters.
    .replace(/\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}\b/g, '<id>');
  const codes: string[] = [];
  s = s.replace(/(→ |^whatsapp: )(\d+)/g, (_m, before: string, code: string) => `${before}\u0000${codes.push(code) - 1}\u0000`);
  s = s.replace(/(?<![\w\u0000])\d+(?:[.,]\d+)*(?![\w\u0000])/g, '#');
  s = s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)]!);
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON - 1)}…` : s;
}

/** Counts by channel, state and stored reason of the deliveries that ended so since `since`; exported for the test of its plan. */
export function unsentQuery(knex: Knex, since: number): Knex.QueryBuilder {
  // A failure before a reason was set carries its why in last_error only.
  return knex('deliveries').whereRaw(UNSENT_SQL).where('finished_at', '>=', since)
    .select('channel', 'state', knex.raw('coalesce(reason, last_error) as why')).count({ n: '*' })
    .groupBy('channel', 'state', knex.raw('coalesce(reason, last_error)'));
}

export async function unsentReasons(knex: Knex, now: number, days = UNSENT_WINDOW_DAYS): Promise<UnsentReasons> {
  const since = now - days * 86_400_000;
  // Grouped by the raw text in the store (few distinct ones), merged after normalising here: the
  // placeholders are not something SQL can compute on every store. The partial index of
  // migration 010 holds exactly these states, by finished_at: the window is a range of it.
  const rows = (await unsentQuery(knex, since)) as { channel: string; state: UnsentState; why: string | null; n: number | string }[];

  const byGroup = new Map<string, { channel: string; state: UnsentState; counts: Map<string, number> }>();
  for (const r of rows) {
    const key = `${r.channel}\u0000${r.state}`;
    let g = byGroup.get(key);
    if (!g) byGroup.set(key, (g = { channel: r.channel, state: r.state, counts: new Map() }));
    const reason = r.why ? normaliseReason(r.why) : '(no reason recorded)';
    g.counts.set(reason, (g.counts.get(reason) ?? 0) + Number(r.n));
  }
  const rank = (s: UnsentState) => UNSENT_STATES.indexOf(s);
  const groups = [...byGroup.values()]
    .sort((a, b) => a.channel.localeCompare(b.channel) || rank(a.state) - rank(b.state))
    .map((g) => {
      const all = [...g.counts].map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
      const rest = all.slice(TOP);
      return {
        channel: g.channel, state: g.state, total: all.reduce((n, r) => n + r.count, 0),
        reasons: all.slice(0, TOP),
        others: { reasons: rest.length, deliveries: rest.reduce((n, r) => n + r.count, 0) },
        see: `npx ponte deliveries --state ${g.state} --channel ${g.channel}`,
      };
    });
  return { since: new Date(since).toISOString(), days, groups };
}
