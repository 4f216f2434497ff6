// The embedded store's settings are part of its guarantees: a commit must survive a power cut
// (a lost `sending` would be sent twice), readers must not block the daemon, foreign keys hold.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/db.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('SQLite store settings', () => {
  let store: Store | undefined;
  afterEach(async () => { await store?.close(); store = undefined; });

  it('opens in WAL mode with durable commits (synchronous FULL), a busy timeout and foreign keys', async () => {
    store = openStore({ client: 'sqlite', filename: join(tempDir('pragmas'), 'store.sqlite') });
    const pragma = async (name: string) => Object.values(((await store!.knex.raw(`pragma ${name}`)) as Array<Record<string, unknown>>)[0]!)[0];
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('synchronous')).toBe(2); // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
    expect(await pragma('busy_timeout')).toBe(5000);
    expect(await pragma('foreign_keys')).toBe(1);
  });
});
