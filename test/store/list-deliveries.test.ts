// `ponte deliveries` narrowed to one citizen, connector, event type or channel: a helpdesk call ("I never
// got the TARI reminder") is answered from the ledger, on every store dialect.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { listDeliveries } from '../../src/store/operator.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[list-deliveries] skipped: ${skipped.join('; ')}`);

const MARIO = 'RSSMRA80A01H501U';
const ANNA = 'VRDNNA85M41F205D';

describe.each(run)('listDeliveries filters on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await testStore(dialect);
    const now = Date.now();
    const ev = (id: number, instance: string, type: string, fiscal: string, phone: string | null = null) =>
      ({ id, dedup_key: `${type}:${id}`, instance_id: instance, type, fiscal_code: fiscal, phone, payload: '{}', created_at: now });
    await store.knex('events').insert([
      ev(1, 'tari', 'tari.due', MARIO), ev(2, 'tari', 'tari.due', ANNA), ev(3, 'ztl', 'ztl.expiry', MARIO, '+393471234567'),
      ev(4, 'broadcast:meteo', 'broadcast', '', '+393339876543'),
    ]);
    const d = (id: number, event: number, channel: string, state: string, address: string | null = null) =>
      ({ id, event_id: event, channel, state, attempts: 1, polls: 0, next_attempt_at: now, route_index: 0, address, created_at: now, updated_at: now });
    await store.knex('deliveries').insert([
      d(1, 1, 'appio', 'processed'), d(2, 2, 'appio', 'skipped'), d(3, 3, 'appio', 'skipped'), d(4, 3, 'whatsapp', 'processed', '+393471234567'),
      d(5, 4, 'whatsapp', 'processed', '+393339876543'),
    ]);
  });
  afterEach(async () => { await store.close(); });

  const ids = async (f: Parameters<typeof listDeliveries>[1]) => (await listDeliveries(store.knex, f)).map((r) => Number(r.id));

  it('by fiscal code, by number (event or WhatsApp address), by connector, by type, combined with state', async () => {
    expect(await ids({ fiscalCode: MARIO })).toEqual([4, 3, 1]);
    expect(await ids({ fiscalCode: MARIO, state: 'skipped' })).toEqual([3]);
    expect(await ids({ phone: '+393471234567' })).toEqual([4, 3]);
    expect(await ids({ phone: '+393339876543' })).toEqual([5]);
    expect(await ids({ connector: 'tari' })).toEqual([2, 1]);
    expect(await ids({ type: 'ztl.expiry', state: 'processed' })).toEqual([4]);
    expect(await ids({ channel: 'whatsapp' })).toEqual([5, 4]);
    expect(await ids({ channel: 'appio', state: 'skipped' })).toEqual([3, 2]);
    expect(await ids({ fiscalCode: 'BNCLRA70A41H501X' })).toEqual([]);
    expect(await ids({})).toEqual([5, 4, 3, 2, 1]);
  });
});
