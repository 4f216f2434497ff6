// `ponte delivery show` for a person: the line about what comes next fits the delivery's state
// (a finished one has no "next attempt"), personal data stays masked, and a purged event says so.
import { describe, expect, it } from 'vitest';
import { formatDelivery, formatDeliveryLine, listFilter } from '../../src/cli/deliveries.js';
import type { DeliveryDetail } from '../../src/store/operator.js';
import type { DeliveryState } from '../../src/store/states.js';

const T = Date.UTC(2026, 11, 5, 9, 0, 0);

function detail(state: DeliveryState, extra: Partial<DeliveryDetail['delivery']> = {}, fiscalCode = 'RSSMRA80A01H501U'): DeliveryDetail {
  return {
    delivery: {
      id: 7, event_id: 3, channel: 'appio', options: null, state, attempts: 1, polls: 0, next_attempt_at: T + 60_000,
      route_index: 0, address: null, lease_token: null, lease_until: null, provider_id: null, reason: null, last_error: null,
      created_at: T - 3_600_000, updated_at: T, sent_at: null, finished_at: null, ...extra,
    },
    event: {
      id: 3, instance_id: 'demo-ztl', dedup_key: 'ztl:201:2026-12-11:7d', type: 'ztl.expiry', fiscal_code: fiscalCode, phone: null,
      language: null, payload: null, entity: null, not_before: null, expires_at: null, route: null, created_at: T - 3_600_000,
    },
    attempts: [{ kind: 'send', started_at: T, duration_ms: 12, outcome: 'ok', http_status: 201, error: null }],
  };
}

const line = (text: string, label: string) => text.split('\n').find((l) => l.trimStart().startsWith(label))!.trim();

describe('formatDelivery', () => {
  it('a processed delivery shows when it was sent and finished, not a next attempt', () => {
    const text = formatDelivery(detail('processed', { sent_at: T, finished_at: T + 5_000, provider_id: '01M9' }));
    expect(line(text, 'now')).toBe('now         finished 2026-12-05 10:00:05 CET');
    expect(line(text, 'attempts')).toBe('attempts    1   sent 2026-12-05 10:00:00 CET   provider id 01M9');
    expect(text).not.toMatch(/next/);
  });

  it('names the IO service that sends it (each has its own key)', () => {
    expect(formatDelivery(detail('processed', { options: '{"service":"polizia-locale"}' })).split('\n')[0])
      .toBe('Delivery #7 on appio (IO service polizia-locale): PROCESSED');
    expect(formatDelivery(detail('processed')).split('\n')[0]).toBe('Delivery #7 on appio: PROCESSED');
    const { delivery, event } = detail('processed', { options: '{"service":"polizia-locale"}' });
    expect(formatDeliveryLine({ ...delivery, dedup_key: event.dedup_key, type: event.type })).toMatch(/^#7 \S+ \S+ CET appio\/polizia-locale PROCESSED ztl\.expiry /);
  });

  it('pending and accepted deliveries say what is due next, uncertain ones who acts', () => {
    expect(line(formatDelivery(detail('pending')), 'now')).toBe('now         next attempt 2026-12-05 10:01:00 CET');
    expect(line(formatDelivery(detail('accepted', { sent_at: T })), 'now')).toBe('now         next status check 2026-12-05 10:01:00 CET');
    expect(line(formatDelivery(detail('uncertain')), 'now')).toBe('now         held for an operator: resend, confirm or cancel');
    expect(line(formatDelivery(detail('sending')), 'now')).toBe('now         in flight since 2026-12-05 10:00:00 CET');
  });

  it('masks the fiscal code, and names a recipient removed by retention as such', () => {
    const text = formatDelivery(detail('processed'));
    expect(text).toContain('recipient   RSS************U');
    expect(text).not.toContain('RSSMRA80A01H501U');
    const purged = formatDelivery({ ...detail('processed', { finished_at: T }, '****************'), attempts: [] });
    expect(line(purged, 'recipient')).toBe('recipient   (removed by retention)');
    expect(line(purged, 'history')).toMatch(/none kept/);
    // A send cut by a kill has no attempt row: its history must not read "no provider call yet".
    const cut = formatDelivery({ ...detail('uncertain'), attempts: [] });
    expect(line(cut, 'history')).toMatch(/the request was in flight when its process stopped/);
    expect(cut).not.toMatch(/no provider call yet/);
  });
  it('a broadcast (a number, no fiscal code) shows the number masked, or that retention or an erasure removed it', () => {
    const base = detail('processed', { channel: 'whatsapp', address: '+393471234567', finished_at: T });
    const broadcast = { ...base, event: { ...base.event, instance_id: 'broadcast:meteo', dedup_key: 'vento-1:rAbCdEfGhIjKlMnOpQrSt', type: 'broadcast', fiscal_code: '', phone: '+393471234567' } };
    const text = formatDelivery(broadcast);
    expect(line(text, 'recipient')).toBe('recipient   +39********67');
    expect(text).not.toMatch(/\+39347\d{7}/);
    const purged = formatDelivery({ delivery: { ...broadcast.delivery, address: null }, event: { ...broadcast.event, fiscal_code: '****************', phone: null }, attempts: [] });
    expect(line(purged, 'recipient')).toBe('recipient   (removed by retention, or the citizen\'s erasure)');
  });
});

describe('ponte deliveries', () => {
  it('each line says when the delivery last changed, in UTC, and why, masked', () => {
    const { delivery, event } = detail('skipped', { reason: 'io: no IO profile for RSSMRA80A01H501U' });
    expect(formatDeliveryLine({ ...delivery, dedup_key: event.dedup_key, type: event.type }))
      .toBe('#7 2026-12-05 10:00:00 CET appio SKIPPED ztl.expiry ztl:201:2026-12-11:7d — io: no IO profile for RSS************U');
  });

  it('masks a fiscal code or number a connector put in its dedup key', () => {
    const { delivery, event } = detail('pending');
    const line = formatDeliveryLine({ ...delivery, dedup_key: 'tari:RSSMRA80A01H501U:2026', type: 'tari.due' });
    expect(line).toContain('tari:RSS************U:2026');
    expect(formatDelivery({ ...detail('pending'), event: { ...event, dedup_key: 'x:+393471234567' } })).toContain('event       x:+39********67 ');
  });

  it('refuses a misspelt state or a bad limit, naming the option and the valid states', () => {
    expect(listFilter({ state: 'procesed' })).toEqual({ error: expect.stringMatching(/^--state: "procesed" is not a delivery state; one of pending, .*uncertain/) });
    expect(listFilter({ limit: 'ten' })).toEqual({ error: '--limit: expected a whole number of at least 1, got "ten"' });
    expect(listFilter({ limit: '0' })).toHaveProperty('error');
    expect(listFilter({ state: 'UNCERTAIN', limit: '5' })).toEqual({ state: 'uncertain', limit: 5 });
    expect(listFilter({ channel: 'WhatsApp' })).toEqual({ channel: 'whatsapp', limit: 50 });
    expect(listFilter({ channel: 'io' })).toEqual({ error: '--channel: "io" is not a channel; one of appio, whatsapp' });
    expect(listFilter({})).toEqual({ limit: 50 });
  });
});
