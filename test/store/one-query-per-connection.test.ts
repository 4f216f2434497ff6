// A transaction has one connection, and a PostgreSQL connection runs one query at a time:
// node-postgres 8 queues a second one with a deprecation warning, pg 9 refuses it. The suite's
// setup (test/helpers/pg-one-query.setup.ts) fails a test that does it; here, that it does, and
// that "I MIEI DATI" (the citizen's data, read inside the message's transaction) does not.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { checkOneQueryAtATime } from '../helpers/pg-one-query.js';
import { citizenData } from '../../src/store/citizen-data.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[one-query-per-connection] skipped: ${skipped.join('; ')}`);

const PHONE = '+393471234567';
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

describe.each(run)('one query at a time per connection on %s', (dialect) => {
  let store: TestStore;
  afterEach(async () => { await store?.close(); });

  it('a query sent while the transaction\'s connection runs another is caught', async () => {
    store = await testStore(dialect);
    await store.knex.transaction((trx) => Promise.all([trx.raw('select pg_sleep(0.05)'), trx.raw('select 1')]));
    // The suite's afterEach would fail this test for it; it is taken here instead.
    expect(() => checkOneQueryAtATime()).toThrow(/"select 1" sent while "select pg_sleep\(0.05\)" was running/);
  });

  it('the citizen\'s data is read inside a transaction one query after another', async () => {
    store = await testStore(dialect);
    const { knex } = store;
    await knex('topic_subscriptions').insert({ phone: PHONE, topic: 'meteo', state: 'subscribed', updated_at: T0 });
    await knex('consents').insert({ phone: PHONE, state: 'opted_in', updated_at: T0 });
    const data = await knex.transaction((trx) => citizenData(trx, PHONE));
    expect(data).toMatchObject({ subscriptions: ['meteo'], consent: 'opted_in', consentEvents: 0, inboundMessages: 0, session: null });
  });
});
