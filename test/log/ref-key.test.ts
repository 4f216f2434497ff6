// Refs name citizens in logs (tel#…, cf#…). An unkeyed hash of a phone number is reversed by
// brute force over the mobile range, and a fiscal code's by anyone with a list of residents: so
// refs are an HMAC under a key each installation derives from its store's secret (migration 008).
import { createHash, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { phoneRef } from '../../src/channels/whatsapp/privacy.js';
import { fiscalCodeRef } from '../../src/channels/appio/privacy.js';
import { openStore, migrateLatest, type Store } from '../../src/store/db.js';
import { useStoreRefKey } from '../../src/store/store-meta.js';
import { RECIPIENT_KEY_NAME } from '../../migrations/20261205_008_recipient_pseudonyms.js';
import { tempDir } from '../helpers/temp-dir.js';

const PHONE = '+393471234567';
const CF = 'RSSMRA85T10A562S';
const unkeyed = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

const stores: Store[] = [];
afterEach(async () => { for (const s of stores.splice(0)) await s.close(); });

async function sqliteStore(file: string): Promise<Store> {
  const store = openStore({ client: 'sqlite', filename: file });
  stores.push(store);
  await migrateLatest(store);
  return store;
}

describe('log refs', () => {
  it('keep their format but are not the unkeyed SHA-256 anyone can recompute', () => {
    expect(phoneRef(PHONE)).toMatch(/^tel#[0-9a-f]{12}$/);
    expect(fiscalCodeRef(CF)).toMatch(/^cf#[0-9a-f]{12}$/);
    expect(phoneRef(PHONE)).not.toBe(`tel#${unkeyed('393471234567')}`);
    expect(fiscalCodeRef(CF)).not.toBe(`cf#${unkeyed(CF)}`);
    // Still one ref per person, whatever the written form.
    expect(phoneRef('393471234567')).toBe(phoneRef(PHONE));
    expect(fiscalCodeRef(' rssmra85t10a562s ')).toBe(fiscalCodeRef(CF));
  });

  it('differ between two stores, and are the same again when a store is opened again', async () => {
    const dir = tempDir('refs');
    const a = await sqliteStore(join(dir, 'a.sqlite'));
    const b = await sqliteStore(join(dir, 'b.sqlite'));
    expect(await useStoreRefKey(a.knex)).toBe(true);
    const inA = [phoneRef(PHONE), fiscalCodeRef(CF)];
    expect(await useStoreRefKey(b.knex)).toBe(true);
    const inB = [phoneRef(PHONE), fiscalCodeRef(CF)];
    expect(inB[0]).not.toBe(inA[0]);
    expect(inB[1]).not.toBe(inA[1]);
    await a.close();
    const again = await sqliteStore(join(dir, 'a.sqlite'));
    await useStoreRefKey(again.knex);
    expect([phoneRef(PHONE), fiscalCodeRef(CF)]).toEqual(inA);
  });

  it('use a key of their own, not the broadcast pseudonyms\' key itself', async () => {
    const store = await sqliteStore(join(tempDir('refs'), 'ponte.sqlite'));
    await useStoreRefKey(store.knex);
    const secret = ((await store.knex('store_meta').where({ name: RECIPIENT_KEY_NAME }).first('value')) as { value: string }).value;
    expect(phoneRef(PHONE)).not.toBe(`tel#${createHmac('sha256', secret).update('393471234567').digest('hex').slice(0, 12)}`);
  });

  it('a store not migrated yet leaves the process\'s own key in place', async () => {
    const store = openStore({ client: 'sqlite', filename: join(tempDir('refs'), 'empty.sqlite') });
    stores.push(store);
    const before = phoneRef(PHONE);
    expect(await useStoreRefKey(store.knex)).toBe(false);
    expect(phoneRef(PHONE)).toBe(before);
  });
});
