// Dedup keys are kept for good, past retention and erasure, so they must not hold a phone number:
// broadcast recipients are named by a pseudonym drawn from a key the store keeps (migration 008),
// and the migration rewrites the keys written before it.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { migrateLatest } from '../../src/store/db.js';
import { recipientPseudonyms } from '../../src/store/store-meta.js';
import { migrationSource } from '../../migrations/index.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[recipient-pseudonyms] skipped: ${skipped.join('; ')}`);

describe.each(run)('recipient pseudonyms on %s', (dialect) => {
  let store: TestStore;
  afterEach(async () => { await store?.close(); });

  const event = (dedup_key: string, type: string, phone: string | null, instance_id = 'broadcast:meteo') =>
    ({ dedup_key, instance_id, type, fiscal_code: '', phone, created_at: 1 });

  it('the migration rewrites broadcast keys written with the number, and leaves other keys alone', async () => {
    store = await testStore(dialect);
    await store.knex.migrate.down({ migrationSource, name: '20261205_008_recipient_pseudonyms' }); // back to before 008 (later migrations stay)
    await store.knex('events').insert([
      event('allerta-2026-11-24:+393471000001', 'broadcast', '+393471000001'),
      event('feed:notizie:https://comune.example/n/1:+393471000002', 'broadcast', null, 'broadcast:notizie'),
      event('appointment:101:2026-12-05T07:30:00:24h', 'appointment.reminder', null, 'demo-appuntamenti'),
    ]);
    await migrateLatest(store);
    const pseudonym = await recipientPseudonyms(store.knex);
    // Down and up again: the store's key stays, so do the pseudonyms already written.
    await store.knex.migrate.down({ migrationSource, name: '20261205_008_recipient_pseudonyms' });
    await migrateLatest(store);
    expect((await recipientPseudonyms(store.knex))('+393471000001')).toBe(pseudonym('+393471000001'));
    const keys = (await store.knex('events').orderBy('id').pluck('dedup_key')) as string[];
    expect(keys).toEqual([
      `allerta-2026-11-24:${pseudonym('+393471000001')}`,
      `feed:notizie:https://comune.example/n/1:${pseudonym('+393471000002')}`,
      'appointment:101:2026-12-05T07:30:00:24h',
    ]);
    expect(keys.join(' ')).not.toMatch(/\+39/);
    expect(pseudonym('+393471000001')).toMatch(/^r[A-Za-z0-9_-]{20}$/);
  });

  it('rewrites every key of a ledger larger than one batch, each to its own pseudonym', async () => {
    store = await testStore(dialect);
    await store.knex.migrate.down({ migrationSource, name: '20261205_008_recipient_pseudonyms' });
    // 1,201 recipients, with keys that need no rewrite in between, so batches split unevenly.
    const phones = Array.from({ length: 1201 }, (_, i) => `+39347${String(1000000 + i)}`);
    const rows = phones.flatMap((phone, i) => [
      event(`allerta:${phone}`, 'broadcast', phone),
      ...(i % 7 === 0 ? [event(`allerta-senza-numero-${i}`, 'broadcast', null)] : []),
    ]);
    for (let i = 0; i < rows.length; i += 200) await store.knex('events').insert(rows.slice(i, i + 200));
    await migrateLatest(store);
    const pseudonym = await recipientPseudonyms(store.knex);
    const keys = (await store.knex('events').orderBy('id').pluck('dedup_key')) as string[];
    expect(keys).toEqual(rows.map((r) => (r.phone ? `allerta:${pseudonym(r.phone)}` : r.dedup_key)));
  });

  it('a pseudonym is stable within a store and differs between stores', async () => {
    store = await testStore(dialect);
    const a = await recipientPseudonyms(store.knex);
    expect(a('+393471000001')).toBe((await recipientPseudonyms(store.knex))('+393471000001'));
    expect(a('+393471000001')).not.toBe(a('+393471000002'));
    const other = await testStore(dialect);
    try {
      expect((await recipientPseudonyms(other.knex))('+393471000001')).not.toBe(a('+393471000001'));
    } finally {
      await other.close();
    }
  });
});
