// Consent: proof of every change, the newest change wins, an opt-out cancels that number's
// pending WhatsApp sends (and nobody else's), keywords as citizens actually type them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableDialects } from '../helpers/databases.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { recordConsent, isOptedIn } from '../../src/store/consent.js';
import { matchKeyword } from '../../src/consent/keywords.js';
import { handleInbound } from '../../src/consent/handle-inbound.js';
import { phoneRef } from '../../src/channels/whatsapp/privacy.js';
import { pino } from 'pino';
import { importConsentCsv } from '../../src/consent/import-csv.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { whatsappSchema } from '../../src/config/schema.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const A = '+393471234567';
const B = '+393479876543';
const T0 = Date.UTC(2026, 10, 24, 9);

function waEvent(key: string, phone: string): NewEvent {
  return {
    key, type: 't', fiscalCode: 'RSSMRA80A01H501U', phone, data: {},
    route: { mode: 'first', steps: [{ channel: 'whatsapp', options: {} }] },
    deliveries: [{ channel: 'whatsapp', options: {}, routeIndex: 0, address: phone }],
  };
}

describe('keywords', () => {
  const kw = whatsappSchema.parse({ phoneNumberId: '1' }).keywords;
  it.each([
    ['STOP', 'opt_out'], [' stop ', 'opt_out'], ['Stop.', 'opt_out'], ['Cancèllami!', 'opt_out'], ['cancellami', 'opt_out'],
    ['Iscrivimi', 'opt_in'], ['ISCRIVIMI 🙂', 'opt_in'], ['privacy?', 'privacy'], ['Informativa', 'privacy'],
    ['stop please send more', null], ['ciao', null], ['', null],
  ])('%j → %s', (text, expected) => {
    expect(matchKeyword(text, kw)).toBe(expected);
  });
});

describe.each(run)('consent on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('opt-out cancels only that number\'s pending WhatsApp sends, with proof kept', async () => {
    await recordConsent(store.knex, { phone: A, action: 'opt_in', source: 'whatsapp-keyword', text: 'ISCRIVIMI', at: T0 });
    await recordConsent(store.knex, { phone: B, action: 'opt_in', source: 'whatsapp-keyword', text: 'Iscrivimi', at: T0 });
    await commitBatch(store.knex, { instanceId: 'i', events: [waEvent('a1', A), waEvent('a2', A), waEvent('b1', B)], cancellations: [], rowErrors: [], now: T0 });
    expect(await isOptedIn(store.knex, A)).toBe(true);
    const r = await recordConsent(store.knex, { phone: A, action: 'opt_out', source: 'whatsapp-keyword', text: 'STOP', at: T0 + 1000 });
    expect(r.cancelled).toBe(2);
    expect(await isOptedIn(store.knex, A)).toBe(false);
    expect(await isOptedIn(store.knex, B)).toBe(true);
    const states = await store.knex('deliveries').orderBy('id').pluck('state');
    expect(states).toEqual(['cancelled', 'cancelled', 'pending']);
    const proof = await store.knex('consent_events').where({ phone: A }).orderBy('at').select('action', 'source', 'text', 'at');
    expect(proof).toEqual([
      { action: 'opt_in', source: 'whatsapp-keyword', text: 'ISCRIVIMI', at: T0 },
      { action: 'opt_out', source: 'whatsapp-keyword', text: 'STOP', at: T0 + 1000 },
    ]);
  });

  it('a keyword from WhatsApp is logged with the citizen\'s ref, never the number', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } });
    const kw = whatsappSchema.parse({ phoneNumberId: '1' });
    await handleInbound({ id: 'wamid.IN1', fromE164: A, timestamp: T0, type: 'text', text: 'STOP' }, { knex: store.knex, keywords: kw.keywords, replies: kw.replies, log });
    await handleInbound({ id: 'wamid.IN2', fromE164: A, timestamp: T0, type: 'text', text: 'annulla' }, { knex: store.knex, keywords: kw.keywords, replies: kw.replies, log });
    expect(lines.map((l) => [l.citizen, l.msg])).toEqual([
      [phoneRef(A), 'citizen opted out on WhatsApp: pending sends cancelled'],
      [phoneRef(A), 'inbound WhatsApp message with no keyword: stored, answered with replies.other (nobody reads it)'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('3471234567');
  });

  // Without the citizens' service nobody reads the number: silence after "annullo" or a tapped
  // button leaves the citizen waiting for an answer that never comes.
  it('anything but a keyword is answered with where to turn, once a day per number; "" turns it off', async () => {
    const kw = whatsappSchema.parse({ phoneNumberId: '1' });
    const log = pino({ level: 'silent' });
    let n = 0;
    const write = (from: string, text: string, at: number, replies = kw.replies) =>
      handleInbound({ id: `wamid.IN${++n}`, fromE164: from, timestamp: at, type: 'text', text }, { knex: store.knex, keywords: kw.keywords, replies, log, now: () => at });
    const reaction = await handleInbound({ id: 'wamid.R1', fromE164: A, timestamp: T0, type: 'reaction' }, { knex: store.knex, keywords: kw.keywords, replies: kw.replies, log, now: () => T0 - 1 });
    expect(reaction.reply).toBeUndefined(); // a 👍 to a reminder asks nothing
    expect((await write(A, 'Non posso venire, annullo', T0)).reply).toBe(kw.replies.other);
    expect((await write(A, 'mi sentite?', T0 + 60_000)).reply).toBeUndefined();
    expect((await write(A, 'PRIVACY', T0 + 120_000)).reply).toBe(kw.replies.privacy); // keywords are answered every time
    expect((await write(B, 'buongiorno', T0 + 120_000)).reply).toBe(kw.replies.other); // another citizen
    expect((await write(A, 'ancora io', T0 + 24 * 3_600_000 + 1)).reply).toBe(kw.replies.other); // the next day
    expect((await write(B, 'ciao', T0 + 25 * 3_600_000, { ...kw.replies, other: '' })).reply).toBeUndefined();
    const queued = (await store.knex('reply_outbox').orderBy('id').select('inbound_id', 'message')) as Array<{ inbound_id: string; message: string }>;
    expect(queued.map((r) => [r.inbound_id, (JSON.parse(r.message) as { text: { body: string } }).text.body === kw.replies.other ? 'other' : 'privacy']))
      .toEqual([['wamid.IN1', 'other'], ['wamid.IN3', 'privacy'], ['wamid.IN4', 'other'], ['wamid.IN5', 'other']]);
    expect(kw.replies.other).toMatch(/non legge i messaggi/);
  });

  it('an older change recorded later does not override a newer one', async () => {
    await recordConsent(store.knex, { phone: A, action: 'opt_out', source: 'whatsapp-keyword', text: 'STOP', at: T0 + 5000 });
    await recordConsent(store.knex, { phone: A, action: 'opt_in', source: 'csv:old-forms', text: 'line 2', at: T0 });
    expect(await isOptedIn(store.knex, A)).toBe(false);
    expect(await store.knex('consent_events').count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it('CSV import normalises numbers, records the source, reports bad lines by number', async () => {
    const dir = tempDir('csv');
    const file = join(dir, 'consensi.csv');
    // opt-in / opt-out as `ponte consent set` spells them work as well as opt_in / opt_out.
    writeFileSync(file, ['phone,action,date,note', '347 123 4567,opt-in,2026-11-01T10:00:00Z,modulo 12', '0039 347 987 6543,,,', 'not a phone,opt_in,,', '+39 347 123 4567,maybe,,', '3471234567,opt_out,2026-11-20T10:00:00Z,revoca allo sportello'].join('\n'));
    const r = await importConsentCsv(store.knex, file, 'modulo cartaceo', T0);
    expect(r.imported).toBe(3);
    expect(r.errors).toEqual([
      { line: 4, field: 'phone', message: 'missing or not a valid phone number' },
      { line: 5, field: 'action', message: '"maybe" is neither opt-in nor opt-out' },
    ]);
    expect(await isOptedIn(store.knex, A)).toBe(false);
    expect(await isOptedIn(store.knex, B)).toBe(true);
    expect(await store.knex('consent_events').where({ phone: A }).orderBy('at').pluck('source')).toEqual(['csv:modulo cartaceo', 'csv:modulo cartaceo']);
  });

  it('CSV import reads what an Italian spreadsheet saves: ";" between columns, Italian headers, dd/mm/yyyy dates', async () => {
    const file = join(tempDir('csv'), 'consensi.csv');
    writeFileSync(file, ['telefono;azione;data;nota', '347 123 4567;opt-in;01/12/2026;modulo 12, firmato', '347 123 4567;opt-out;02/12/2026 10:30;revoca', '347 987 6543;opt-in;2026-12-03;', '347 987 6543;opt-in;31/02/2026;', '347 987 6543;opt-in;01/12/2062;'].join('\n'));
    const now = Date.UTC(2026, 11, 5, 12);
    const r = await importConsentCsv(store.knex, file, 'modulo cartaceo', now);
    expect(r.errors).toEqual([
      { line: 5, field: 'date', message: '"31/02/2026" is not a date (dd/mm/yyyy [hh:mm] or ISO yyyy-mm-dd)' },
      // A typo'd year would outrank every later STOP of this citizen.
      { line: 6, field: 'date', message: '"01/12/2062" is in the future' },
    ]);
    expect(r.imported).toBe(3);
    // 1 December at midnight in Rome, not 12 January (Date.parse's mm/dd reading).
    const rows = await store.knex('consent_events').orderBy('id').select('phone', 'action', 'at', 'text');
    expect(rows.map((x: { phone: string; action: string; at: number | string; text: string }) => [x.phone, x.action, new Date(Number(x.at)).toISOString(), x.text])).toEqual([
      [A, 'opt_in', '2026-11-30T23:00:00.000Z', 'line 2: modulo 12, firmato'],
      [A, 'opt_out', '2026-12-02T09:30:00.000Z', 'line 3: revoca'],
      [B, 'opt_in', '2026-12-02T23:00:00.000Z', 'line 4'],
    ]);
    expect(await isOptedIn(store.knex, A)).toBe(false);
  });

  it('CSV import reads a Windows-1252 file (Excel on an Italian PC) without mangling the notes', async () => {
    const file = join(tempDir('csv'), 'consensi.csv');
    // Windows-1252 bytes: ì ù à, and 0x80 for €.
    const bytes = Buffer.from('telefono;azione;data;nota\r\n347 123 4567;s\xEC;01/12/2026;firmato allo sportello, pi\xF9 tardi revocher\xE0? \x80 0\r\n', 'latin1');
    writeFileSync(file, bytes);
    const r = await importConsentCsv(store.knex, file, 'modulo cartaceo', Date.UTC(2026, 11, 5));
    expect(r).toEqual({ imported: 1, cancelled: 0, errors: [] });
    expect(await store.knex('consent_events').pluck('text')).toEqual(['line 2: firmato allo sportello, più tardi revocherà? € 0']);
  });

  it('CSV import refuses a file without a phone column, naming the columns it found, and records nothing', async () => {
    const file = join(tempDir('csv'), 'consensi.csv');
    writeFileSync(file, ['cellulare,consenso', '347 123 4567,si'].join('\n'));
    await expect(importConsentCsv(store.knex, file, 'modulo cartaceo', T0)).rejects.toThrow(/no phone column in the header line \(it has: cellulare, consenso\)/);
    expect(await store.knex('consent_events').count({ n: '*' })).toEqual([{ n: 0 }]);
  });
});
