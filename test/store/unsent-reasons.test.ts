// `ponte status`'s "why they did not go out": the deliveries that ended rejected, failed or dead
// in the last 7 days, by channel and state, with their reasons grouped as a person would group
// them (ids, instants, counts and masked values apart, codes kept), read through the partial
// index of migration 010 rather than a scan of the ledger.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { planOf } from '../helpers/plan.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { statusReport } from '../../src/store/status.js';
import { formatStatus } from '../../src/cli/status.js';
import { normaliseReason, unsentQuery, unsentReasons } from '../../src/store/unsent-reasons.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[unsent-reasons] skipped: ${skipped.join('; ')}`);

const HINT_131026 = ' — the number is not on WhatsApp';
const NOW = Date.parse('2026-12-05T10:00:00Z');
const DAY = 86_400_000;

const ev = (i: number, channel: string): NewEvent => ({
  key: `k${i}`, type: 't', fiscalCode: 'RSSMRA80A01H501U', data: {},
  route: { mode: 'first', steps: [{ channel, options: {} }] },
  deliveries: [{ channel, options: {}, routeIndex: 0, address: channel === 'whatsapp' ? `+3934700${String(i).padStart(5, '0')}` : null }],
});

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

describe('normaliseReason', () => {
  it('groups what differs by ids, instants, counts and masked values; keeps status and error codes', () => {
    expect(normaliseReason('gave up after 8 attempts: io: POST /messages → 429 too many requests, retry in 1234 ms'))
      .toBe('gave up after # attempts: io: POST /messages → 429 too many requests, retry in # ms');
    expect(normaliseReason('whatsapp: 131026 Message undeliverable — the number is not on WhatsApp'))
      .toBe('whatsapp: 131026 Message undeliverable — the number is not on WhatsApp');
    expect(normaliseReason('io: GET /messages/{fiscal_code}/01KBNX4Y7ZK3Q9W8E5R6T2M1PA → 404 Not Found'))
      .toBe('io: GET /messages/{fiscal_code}/<id> → 404 Not Found');
    expect(normaliseReason('whatsapp: POST /messages failed for tel#a1b2c3d4 at 2026-12-04T09:12:33.120Z'))
      .toBe('whatsapp: POST /messages failed for <ref> at <time>');
    expect(normaliseReason('whatsapp: a text message must be 1..4096 characters, it is 5120'))
      .toBe('whatsapp: a text message must be #..# characters, it is #');
  });

  it('never lets a fiscal code or a phone number through, even one a provider quoted in clear', () => {
    const r = normaliseReason('io: POST /profiles → 400 Bad Request: fiscal_code RSSMRA80A01H501U invalid; callback +39 347 123 4567');
    expect(r).toBe('io: POST /profiles → 400 Bad Request: fiscal_code *** invalid; callback ***');
  });
});

describe.each(run)('why they did not go out, on %s', (dialect) => {
  it('top reasons per channel and state in the last 7 days, with counts and where to read them', async () => {
    store = await testStore(dialect);
    const events = [...Array.from({ length: 60 }, (_, i) => ev(i, 'whatsapp')), ...Array.from({ length: 40 }, (_, i) => ev(100 + i, 'appio'))];
    await commitBatch(store.knex, { instanceId: 'i', events, cancellations: [], rowErrors: [], now: NOW - 30 * DAY });
    const ids = ((await store.knex('deliveries').orderBy('id').select('id', 'channel')) as { id: number; channel: string }[]);
    const wa = ids.filter((r) => r.channel === 'whatsapp').map((r) => Number(r.id));
    const io = ids.filter((r) => r.channel === 'appio').map((r) => Number(r.id));
    const end = async (which: number[], state: string, reason: string | null, finishedAt: number, lastError: string | null = null) => {
      await store!.knex('deliveries').whereIn('id', which).update({ state, reason, last_error: lastError, finished_at: finishedAt, updated_at: finishedAt });
    };
    // WhatsApp: 40 numbers not on WhatsApp, each rejection naming its own (masked) number.
    for (const [k, id] of wa.slice(0, 40).entries()) await end([id], 'rejected', `whatsapp: 131026 Message undeliverable for +39********${String(k).padStart(2, '0')}${HINT_131026}`, NOW - (k % 6) * DAY);
    await end(wa.slice(40, 42), 'rejected', 'whatsapp: 131049 Meta chose not to deliver it', NOW - DAY);
    await end(wa.slice(42, 50), 'rejected', 'whatsapp: 131026 Message undeliverable', NOW - 9 * DAY); // before the window
    // Seven distinct dead reasons: five shown, the rest summed.
    const deadWhy = ['A', 'A', 'A', 'B', 'B', 'C', 'D', 'E', 'F', 'G'];
    for (const [k, id] of wa.slice(50, 60).entries()) await end([id], 'dead', `gave up after ${k + 2} attempts: whatsapp: POST /messages → 500 ${deadWhy[k]}`, NOW - 2 * DAY);
    // IO: rejected by the citizen's profile, failed at processing, failed before any reason column was set.
    await end(io.slice(0, 3), 'rejected', 'io: REJECTED', NOW - DAY);
    await end(io.slice(3, 5), 'failed', 'io: FAILED', NOW - 3 * DAY);
    await end(io.slice(5, 6), 'failed', null, NOW - 3 * DAY, 'io: POST /messages → 400 Bad Request: subject too short');
    await end(io.slice(6, 8), 'processed', null, NOW - DAY);
    await end(io.slice(8, 9), 'skipped', 'io: no IO profile', NOW - DAY);
    await end(io.slice(9, 10), 'uncertain', 'send outcome unknown', NOW - DAY);

    const text = formatStatus(await statusReport(store.knex, NOW), 'Europe/Rome').split('\n');
    const at = text.findIndex((l) => l.startsWith('Why they did not go out'));
    expect(text.slice(at, text.indexOf('', at))).toEqual([
      'Why they did not go out (rejected, failed, dead; ended in the last 7 days, since 2026-11-28 11:00:00 CET)',
      '  appio rejected: 3   (each one: npx ponte deliveries --state rejected --channel appio)',
      '     3  io: REJECTED',
      '  appio failed: 3   (each one: npx ponte deliveries --state failed --channel appio)',
      '     2  io: FAILED',
      '     1  io: POST /messages → 400 Bad Request: subject too short',
      '  whatsapp rejected: 42   (each one: npx ponte deliveries --state rejected --channel whatsapp)',
      `    40  whatsapp: 131026 Message undeliverable for ***${HINT_131026}`,
      '     2  whatsapp: 131049 Meta chose not to deliver it',
      '  whatsapp dead: 10   (each one: npx ponte deliveries --state dead --channel whatsapp)',
      '     3  gave up after # attempts: whatsapp: POST /messages → 500 A',
      '     2  gave up after # attempts: whatsapp: POST /messages → 500 B',
      '     1  gave up after # attempts: whatsapp: POST /messages → 500 C',
      '     1  gave up after # attempts: whatsapp: POST /messages → 500 D',
      '     1  gave up after # attempts: whatsapp: POST /messages → 500 E',
      '     …  2 other reasons: 2 deliveries',
    ]);

    // --json carries the same, the window in UTC.
    const u = await unsentReasons(store.knex, NOW);
    expect(u.since).toBe('2026-11-28T10:00:00.000Z');
    expect(u.groups.find((g) => g.channel === 'whatsapp' && g.state === 'dead')).toMatchObject({ total: 10, others: { reasons: 2, deliveries: 2 }, see: 'npx ponte deliveries --state dead --channel whatsapp' });

    // Read through the partial index, not a scan of the ledger.
    await store.knex.raw(dialect === 'postgres' ? 'analyze deliveries' : 'analyze');
    const sql = unsentQuery(store.knex, NOW - 7 * DAY).toString();
    const plan = dialect === 'sqlite' ? await planOf(store, sql) : await store.knex.transaction(async (trx) => {
      await trx.raw('set local enable_seqscan = off'); // a tiny table: show what the planner CAN use
      return JSON.stringify(((await trx.raw(`explain ${sql}`)) as { rows: unknown[] }).rows);
    });
    expect(plan).toContain('deliveries_unsent_index');
    expect(plan).not.toMatch(/SCAN deliveries\b(?! USING)|Seq Scan on deliveries/);
  });

  it('says none when nothing ended so lately', async () => {
    store = await testStore(dialect);
    const text = formatStatus(await statusReport(store.knex, NOW), 'Europe/Rome').split('\n');
    const at = text.findIndex((l) => l.startsWith('Why they did not go out'));
    expect(text[at + 1]).toBe('  none');
  });
});
