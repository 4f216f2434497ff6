// The store outage's probe keeps the query bound even when the outage was first reported inside
// withoutQueryTimeout (the purge or a migration, where knex's pool warns of a connection the
// outage broke): its timers outlive that flow, and a probe on a frozen connection must fail.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Knex } from 'knex';
import { StoreOutage } from '../../src/store/outage.js';
import { queryTimeoutExempt, withoutQueryTimeout } from '../../src/store/query-timeout.js';

describe('the store outage probe', () => {
  it('is bound, whichever flow reported the outage', async () => {
    const exempt: boolean[] = [];
    let fail = true;
    const knex = { raw: () => { exempt.push(queryTimeoutExempt()); return fail ? Promise.reject(new Error('Connection terminated')) : Promise.resolve(); } } as unknown as Knex;
    const outage = new StoreOutage('the store (test)', pino({ level: 'silent' }), 20);
    outage.probe(knex);
    try {
      await withoutQueryTimeout(async () => {
        expect(queryTimeoutExempt()).toBe(true);
        expect(outage.report(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
      });
      // The first probe, and the next one (armed from the first's failure).
      while (exempt.length < 2) await new Promise((r) => setTimeout(r, 10));
      fail = false;
      while (outage.down) await new Promise((r) => setTimeout(r, 10));
      expect(exempt.every((e) => !e)).toBe(true);
    } finally {
      outage.close();
    }
  });
});
