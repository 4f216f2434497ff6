// The columns one state change writes: shared by updateDelivery() and the group-committing writer,
// so what it leaves out (the lease, `keepLease` itself) or adds (finished_at) reaches every store.
import { describe, expect, it } from 'vitest';
import { transitionRow } from '../../src/store/update-delivery.js';

describe('transitionRow', () => {
  it('keeps the lease only when asked, and never writes keepLease as a column', () => {
    expect(transitionRow(7, 'pending', { state: 'sending', attempts: 1, keepLease: true }, 100))
      .toEqual({ state: 'sending', attempts: 1, updated_at: 100 });
    expect(transitionRow(7, 'sending', { state: 'pending', attempts: 2, last_error: 'HTTP 500', next_attempt_at: 900 }, 100))
      .toEqual({ state: 'pending', attempts: 2, last_error: 'HTTP 500', next_attempt_at: 900, updated_at: 100, lease_token: null, lease_until: null });
    expect(transitionRow(7, 'pending', { state: 'pending', keepLease: false }, 100))
      .toEqual({ state: 'pending', updated_at: 100, lease_token: null, lease_until: null });
  });

  it('stamps finished_at on terminal states only', () => {
    expect(transitionRow(7, 'accepted', { state: 'processed', polls: 1 }, 100)).toMatchObject({ finished_at: 100 });
    expect(transitionRow(7, 'sending', { state: 'uncertain', reason: 'send outcome unknown' }, 100)).not.toHaveProperty('finished_at');
    expect(transitionRow(7, 'sending', { state: 'accepted', provider_id: 'p1', sent_at: 90 }, 100)).not.toHaveProperty('finished_at');
  });

  it('refuses a transition the state machine does not allow, naming the delivery', () => {
    expect(() => transitionRow(7, 'processed', { state: 'pending' }, 100)).toThrow('delivery 7: illegal transition processed → pending');
    expect(() => transitionRow(7, 'pending', { state: 'processed' }, 100)).toThrow(/illegal transition pending → processed/);
  });
});
