// A citizen's erasure takes their number out of the broadcasts they received (as retention would,
// at once): finished ones and those the erasure cancels lose it; one still with WhatsApp keeps it
// until it ends; the municipality's own events (a connector's reminder) and other citizens' are
// untouched; the dedup keys stay, so nothing is sent twice.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { eraseCitizen } from '../../src/store/citizen-data.js';
import { logAttempt } from '../../src/store/attempts.js';
import { PURGED_FISCAL_CODE } from '../../src/store/purge.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[erase-broadcasts] skipped: ${skipped.join('; ')}`);

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const PHONE = '+393471234567';
const OTHER = '+393479999999';
const whatsapp = { channel: 'whatsapp', options: { template: 'allerta_meteo', language: 'it', body: [], buttons: [] } };

function event(key: string, phone: string, fiscalCode = ''): NewEvent {
  return {
    key, type: fiscalCode ? 'test.reminder' : 'broadcast', fiscalCode, phone, data: { p1: 'Allerta gialla' },
    route: { mode: 'first', steps: [{ channel: 'whatsapp', options: whatsapp.options }] },
    deliveries: [{ ...whatsapp, routeIndex: 0, address: phone }],
  };
}

describe.each(run)('erasure and broadcasts on %s', (dialect) => {
  let store: TestStore;
  afterEach(async () => { await store?.close(); });

  it('removes the number from the broadcasts it received once their deliveries are final', async () => {
    store = await testStore(dialect);
    const { knex } = store;
    await commitBatch(knex, { instanceId: 'broadcast:meteo', events: [event('b1:rA', PHONE), event('b2:rA', PHONE), event('b3:rA', PHONE), event('b1:rB', OTHER)], cancellations: [], rowErrors: [], now: T0 });
    await commitBatch(knex, { instanceId: 'ztl', events: [event('ztl:1:2026-12-11:7d', PHONE, 'RSSMRA80A01H501U')], cancellations: [], rowErrors: [], now: T0 });
    await knex('topic_subscriptions').insert({ phone: PHONE, topic: 'meteo', state: 'subscribed', updated_at: T0 });
    const ids = async (key: string) => Number((await knex('events').where({ dedup_key: key }).first('id')).id);
    const eventIds = new Map<string, number>();
    for (const k of ['b1:rA', 'b2:rA', 'b1:rB']) eventIds.set(k, await ids(k));
    const delivery = (key: string) => knex('deliveries').where({ event_id: eventIds.get(key)! });
    // b1 was delivered, b2 is still with WhatsApp (accepted), b3 still pending (the erasure cancels it).
    await delivery('b1:rA').update({ state: 'processed', provider_id: 'wamid.b1', finished_at: T0 + 1000, updated_at: T0 + 1000 });
    await delivery('b2:rA').update({ state: 'accepted', provider_id: 'wamid.b2', updated_at: T0 + 1000 });
    await delivery('b1:rB').update({ state: 'processed', provider_id: 'wamid.b1b', finished_at: T0 + 1000, updated_at: T0 + 1000 });
    const b1 = Number((await (delivery('b1:rA')).first('id')).id);
    await logAttempt(knex, { deliveryId: b1, kind: 'send', startedAt: T0, durationMs: 90, outcome: 'accepted', httpStatus: 200 });

    const r = await eraseCitizen(knex, PHONE, { source: 'erasure', text: 'CANCELLA I MIEI DATI', at: T0 + 5000 });
    expect(r.cancelled).toBe(2); // b3, and the reminder's WhatsApp send (the erasure is a global opt-out)

    const events = await knex('events').orderBy('id').select('dedup_key', 'phone', 'payload', 'fiscal_code');
    expect(events.map((e) => [e.dedup_key, e.phone, e.payload === null])).toEqual([
      ['b1:rA', null, true], // delivered: the number goes now
      ['b2:rA', PHONE, false], // still with WhatsApp: kept until it ends (retention then)
      ['b3:rA', null, true], // cancelled by the erasure: goes too
      ['b1:rB', OTHER, false], // another citizen
      ['ztl:1:2026-12-11:7d', PHONE, false], // the municipality's own reminder: not the WhatsApp service's to erase
    ]);
    expect(events[0].fiscal_code).toBe(PURGED_FISCAL_CODE);
    const addresses = await knex('deliveries').join('events', 'events.id', 'deliveries.event_id').orderBy('events.id').pluck('deliveries.address');
    expect(addresses).toEqual([null, PHONE, null, OTHER, PHONE]);
    expect(await knex('delivery_attempts').where({ delivery_id: b1 })).toEqual([]);
  });
});
