// The reply outbox's claims, on every store: one claimant per reply, and the parts of an answer
// in order (a part never overtakes an earlier one being sent elsewhere, nor follows one that failed).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { claimReplies, queueReplies, releaseReply, replyFailed, replySent } from '../../src/store/reply-outbox.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[reply-outbox] skipped: ${skipped.join('; ')}`);

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const PHONE = '+393470000001';
const text = (body: string) => ({ type: 'text', text: { body } });

describe.each(run)('reply outbox on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  const sweep = (at: number) => claimReplies(store.knex, { leftOverBefore: at - 5_000 }, at);
  const parts = (rows: Array<{ inbound_id: string; seq: number }>) => rows.map((r) => `${r.inbound_id}#${r.seq}`);

  it('hands each reply to one claimant, the parts of an answer in order', async () => {
    await queueReplies(store.knex, 'in-1', PHONE, [text('a'), text('b')], T0);
    await queueReplies(store.knex, 'in-2', PHONE, [text('c')], T0 + 1);
    const first = await sweep(T0 + 10_000);
    expect(parts(first)).toEqual(['in-1#0', 'in-1#1', 'in-2#0']);
    expect(first.every((r) => r.attempts === 1)).toBe(true);
    // Claimed: a second sweep (another process) finds nothing until the claims expire.
    expect(await sweep(T0 + 11_000)).toEqual([]);
    expect(parts(await sweep(T0 + 10_000 + 61_000))).toEqual(['in-1#0', 'in-1#1', 'in-2#0']);
  });

  it('two sweeps at once share the replies out, none twice', async () => {
    for (let i = 0; i < 40; i++) await queueReplies(store.knex, `in-${i}`, PHONE, [text(`r${i}`)], T0 + i);
    const [a, b] = await Promise.all([sweep(T0 + 60_000), sweep(T0 + 60_000)]);
    const ids = [...a!, ...b!].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(40);
    expect(await store.knex('reply_outbox').where({ state: 'sending' }).count({ n: '*' })).toEqual([{ n: 40 }]);
  });

  it('a part waits while an earlier one is being sent elsewhere, and for good once one failed', async () => {
    await queueReplies(store.knex, 'in-1', PHONE, [text('a'), text('b')], T0);
    const [a, b] = await claimReplies(store.knex, { inboundId: 'in-1' }, T0 + 1);
    // The webhook holds part 0 and released part 1.
    await releaseReply(store.knex, b!.id);
    expect(await sweep(T0 + 10_000)).toEqual([]);
    await replySent(store.knex, a!.id, T0 + 10_001);
    expect(parts(await sweep(T0 + 10_002))).toEqual(['in-1#1']);

    await queueReplies(store.knex, 'in-2', PHONE, [text('c'), text('d')], T0 + 20_000);
    const [c, d] = await claimReplies(store.knex, { inboundId: 'in-2' }, T0 + 20_001);
    await replyFailed(store.knex, c!.id, 'http 400: recipient not in allowed list', true);
    await releaseReply(store.knex, d!.id);
    expect(await sweep(T0 + 30_000)).toEqual([]);
  });
});
