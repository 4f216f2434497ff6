import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import appointments from '../../connectors/appointments/index.js';
import ztlPermits from '../../connectors/ztl-permits/index.js';
import {
  DEMO_APPOINTMENTS, DEMO_FISCAL_CODES, DEMO_HUGE_SERVICE_LENGTH, DEMO_INVALID_FISCAL_CODE, DEMO_PERMITS,
  fiscalCodeCheckCharacter, seedDemoBackoffice,
} from '../../src/demo/backoffice.js';
import { checkIoMessage } from '../../src/messages/io-rules.js';
import { renderMessage } from '../../src/messages/render.js';
import { isValidFiscalCode } from '../../src/util/fiscal-code.js';
import { scratchDb, type ScratchDb } from '../helpers/databases.js';
import { pollOnce, type PollResult } from './poll-helpers.js';

const NOW = new Date('2026-03-28T08:00:00Z');
const due = (e: { notBefore?: Date; expiresAt?: Date }, now: Date) => (e.notBefore ?? now) <= now && now < e.expiresAt!;

describe('demo fiscal codes', () => {
  it('are valid (check character computed), except the deliberately invalid one', () => {
    expect(fiscalCodeCheckCharacter('RSSMRA80A01H501')).toBe('U'); // the textbook example
    for (const cf of Object.values(DEMO_FISCAL_CODES)) expect(isValidFiscalCode(cf), cf).toBe(true);
    expect(isValidFiscalCode(DEMO_INVALID_FISCAL_CODE)).toBe(false);
  });
});

describe('demo back-office', () => {
  let db: ScratchDb;
  let appts: PollResult;
  let permits: PollResult;

  beforeAll(async () => {
    db = await scratchDb('sqlite');
    await seedDemoBackoffice(db.knex, new Date('2020-01-01T00:00:00Z'));
    await seedDemoBackoffice(db.knex, NOW); // re-seeding drops and recreates
    const source = { client: 'better-sqlite3', filename: db.url };
    appts = await pollOnce(appointments, { source }, { now: NOW });
    permits = await pollOnce(ztlPermits, { source }, { now: NOW });
  });
  afterAll(async () => { await db.destroy(); });

  const eventsOf = (r: PollResult, prefix: string, id: number) => r.events.filter((e) => e.entity === `${prefix}:${id}`);

  it('has appointments due now, due later, cancelled, and bad rows', async () => {
    expect(await db.knex('appuntamenti').count({ n: '*' })).toEqual([{ n: 7 }]);
    const A = DEMO_APPOINTMENTS;
    for (const id of [A.in3h, A.in20h]) {
      const [e] = eventsOf(appts, 'appointment', id);
      expect(e && due(e, NOW), `appointment ${id} due now`).toBe(true);
    }
    const [later] = eventsOf(appts, 'appointment', A.in40h);
    expect(later!.notBefore!.getTime()).toBeGreaterThan(NOW.getTime() + 15 * 3_600_000);
    expect(eventsOf(appts, 'appointment', A.cancelled)).toEqual([]);
    expect(appts.errors).toEqual([{ rowKey: String(A.nullStart), field: 'data_ora', message: 'missing appointment date/time' }]);
    // The connector passes the bad fiscal code on; the runner rejects it.
    expect(eventsOf(appts, 'appointment', A.invalidFiscalCode)[0]!.recipient.fiscalCode).toBe(DEMO_INVALID_FISCAL_CODE);
    expect(eventsOf(appts, 'appointment', A.in20h)[0]!.recipient.language).toBe('en');
  });

  it('the huge service makes the IO markdown too long, the others fit', () => {
    const spec = appointments.eventTypes['appointment.reminder']!;
    for (const e of appts.events) {
      const violations = checkIoMessage(renderMessage(spec, e.data, e.recipient.language));
      if (e.entity === `appointment:${DEMO_APPOINTMENTS.hugeService}`) {
        expect((e.data.service as string).length).toBe(DEMO_HUGE_SERVICE_LENGTH);
        expect(violations.join()).toMatch(/markdown is \d+ characters long/);
      } else {
        expect(violations, e.key).toEqual([]);
      }
    }
  });

  it('has ZTL permits with notices due now, later, not yet, and a revoked one', () => {
    const P = DEMO_PERMITS;
    const in6 = eventsOf(permits, 'ztl-permit', P.in6days);
    expect(in6.map((e) => e.key.split(':').pop())).toEqual(['7d']);
    expect(due(in6[0]!, NOW)).toBe(true);
    const in20 = new Map(eventsOf(permits, 'ztl-permit', P.in20days).map((e) => [e.key.split(':').pop(), e]));
    expect([...in20.keys()].sort()).toEqual(['30d', '7d']);
    expect(due(in20.get('30d')!, NOW)).toBe(true);
    expect(in20.get('7d')!.notBefore!.getTime()).toBeGreaterThan(NOW.getTime());
    expect(eventsOf(permits, 'ztl-permit', P.in60days)).toEqual([]);
    expect(eventsOf(permits, 'ztl-permit', P.revoked)).toEqual([]);
    expect(permits.errors).toEqual([]);
  });
});
