// prepareBatch stores what a send will read back: flat data is copied as is, anything else goes
// through JSON (Dates become ISO text), and what the store cannot hold is a row error naming the
// field while the rest of the batch goes on.
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../src/connectors/prepare-batch.js';
import type { Channel } from '../../src/channels/channel.js';
import type { ConnectorDefinition, EmittedEvent } from '../../src/connectors/contract.js';

const rendered: Array<Record<string, unknown>> = [];
const channel = { name: 'appio', render: (ctx: { event: { data: Record<string, unknown> } }) => { rendered.push(ctx.event.data); return { subject: 's', markdown: 'm' }; } } as unknown as Channel;
let routeCalls = 0;
const deps = {
  definition: { eventTypes: { t: { description: 't', templates: {} } } } as unknown as ConnectorDefinition,
  channels: new Map([['appio', channel]]),
  routeFor: () => { routeCalls += 1; return { mode: 'first' as const, steps: [{ channel: 'appio', options: {} }] }; },
  now: Date.parse('2026-12-03T10:00:00Z'),
};
const event = (key: string, data: Record<string, unknown>, extra: Partial<EmittedEvent> = {}): EmittedEvent => ({ key, type: 't', rowKey: key, recipient: { fiscalCode: 'RSSMRA80A01H501U' }, data, ...extra });

describe('prepareBatch', () => {
  it('copies flat data, turns the rest into what JSON will give back, and renders that', async () => {
    rendered.length = 0;
    const flat = { a: 'x', n: 3, b: true, z: null, gone: undefined };
    const nested = { at: new Date('2026-12-24T09:30:00Z'), office: { name: 'Anagrafe' }, list: [1, 2] };
    const out = await prepareBatch({ events: [event('k1', flat), event('k2', nested)] }, deps);
    expect(out.rowErrors).toEqual([]);
    expect(out.events[0]!.data).toEqual({ a: 'x', n: 3, b: true, z: null });
    expect(out.events[0]!.data).not.toBe(flat); // a later change to the connector's object changes nothing stored
    expect(out.events[1]!.data).toEqual({ at: '2026-12-24T09:30:00.000Z', office: { name: 'Anagrafe' }, list: [1, 2] });
    expect(rendered).toEqual([out.events[0]!.data, out.events[1]!.data]);
  });

  it('takes one route per event type and batch, shared by its events', async () => {
    routeCalls = 0;
    const out = await prepareBatch({ events: [event('k1', {}), event('k2', {}), event('k3', {})] }, deps);
    expect(routeCalls).toBe(1);
    expect(out.events[2]!.route).toBe(out.events[0]!.route);
  });

  it('names the row and field of data JSON cannot hold, or text the store cannot hold, and keeps the rest', async () => {
    const out = await prepareBatch({ events: [
      event('big', { n: 10n }),
      event('nan', { n: Number.NaN, d: new Date(Number.NaN) }),
      event('key\u0000', {}, { rowKey: 'r-key' }),
      event('phone', {}, { recipient: { fiscalCode: 'RSSMRA80A01H501U', phone: '347\u0000' } }),
      event('entity', {}, { entity: 'e\u0000' }),
      event('ok', { text: 'fine \u0000 inside data' }),
    ] }, deps);
    expect(out.rowErrors.map((e) => [e.rowKey, e.field])).toEqual([['big', 'data'], ['r-key', 'key'], ['phone', 'phone'], ['entity', 'entity']]);
    expect(out.events.map((e) => e.key)).toEqual(['nan', 'ok']);
    expect(out.events[0]!.data).toEqual({ n: null, d: null }); // as JSON stores them, so the render check sees it
  });

  it('names the column a field was read from when the connector says, else the event field', async () => {
    const bad = event('bad-cf', {}, { recipient: { fiscalCode: 'RSSMRA80A01H50', phone: '347\u0000' } });
    const columns = { fiscalCode: 'codice_fiscale', phone: null };
    expect((await prepareBatch({ events: [bad] }, { ...deps, columns })).rowErrors).toEqual([
      { rowKey: 'bad-cf', field: 'phone', message: 'phone contains a NUL character (U+0000)' }, // no column named: the field
    ]);
    const cf = event('bad-cf', {}, { recipient: { fiscalCode: 'RSSMRA80A01H50' } });
    expect((await prepareBatch({ events: [cf] }, { ...deps, columns })).rowErrors.map((e) => e.field)).toEqual(['codice_fiscale']);
    expect((await prepareBatch({ events: [cf] }, deps)).rowErrors.map((e) => e.field)).toEqual(['fiscalCode']);
  });
});
