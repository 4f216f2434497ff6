// `ponte deliveries --json` / `delivery show --json` for scripts: ISO instants like the text
// output, JSON columns as objects, no claim internals.
import { describe, expect, it } from 'vitest';
import { deliveryJson } from '../../src/cli/delivery-json.js';

describe('deliveryJson', () => {
  it('instants as ISO, JSON text as objects, lease fields left out, the rest as stored', () => {
    const at = Date.parse('2026-12-05T08:00:00.000Z');
    expect(deliveryJson({
      id: 7, state: 'accepted', created_at: at, updated_at: String(at + 1000), sent_at: null, next_attempt_at: at + 5000,
      options: '{"service":"anagrafe"}', route: '{"mode":"first","steps":[{"channel":"appio"}]}', payload: 'not json',
      lease_token: 'b5f1…', lease_until: at + 60_000, provider_id: '01M92GXK6JJYA938W8C5XYT6SV',
    })).toEqual({
      id: 7, state: 'accepted', created_at: '2026-12-05T08:00:00.000Z', updated_at: '2026-12-05T08:00:01.000Z', sent_at: null, next_attempt_at: '2026-12-05T08:00:05.000Z',
      options: { service: 'anagrafe' }, route: { mode: 'first', steps: [{ channel: 'appio' }] }, payload: 'not json',
      provider_id: '01M92GXK6JJYA938W8C5XYT6SV',
    });
  });
});
