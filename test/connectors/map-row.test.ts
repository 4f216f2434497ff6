// The declarative row mapper, compiled once per spec: what the key reads (a data field before the
// raw column of the same name), the entity on incremental verdicts, and a key template that does
// not compile, which names event.key on every row instead of stopping the poll.
import { describe, expect, it } from 'vitest';
import { readDeclarative } from '../../src/connectors/declarative/load.js';
import { dateAlias, rowMapper } from '../../src/connectors/declarative/map-row.js';

const { spec } = readDeclarative('connectors/scadenze-tari/connector.yaml');
const row = { id: 7, codice_fiscale: 'RSSMRA80A01H501U', telefono: null, lingua: 'en', importo: '120,50', rata: '2/4', stato: 'DA_PAGARE', due: 'raw column', [dateAlias('due')]: '2026-11-30 23:59:00' };

describe('rowMapper', () => {
  it('renders the key from data fields first (the due instant, not the raw column), and dates as instants', () => {
    const v = rowMapper(spec)(row, '7');
    expect(v.errors).toBeUndefined();
    const e = v.events![0]!;
    expect(e.key).toBe('scadenze-tari:7:2026-11-30T22:59:00.000Z');
    expect(e).toMatchObject({ entity: 'scadenze-tari:7', rowKey: '7', recipient: { fiscalCode: 'RSSMRA80A01H501U', language: 'en' }, data: { amount: '120,50', instalment: '2/4', due: '2026-11-30T22:59:00.000Z' } });
    expect(e.notBefore).toEqual(new Date('2026-11-23T22:59:00.000Z'));
    expect(e.expiresAt).toEqual(new Date('2026-11-30T22:59:00.000Z'));
    expect(v.entity).toBeUndefined();
    expect(rowMapper(spec, { entityOnVerdict: true })({ ...row, stato: 'PAGATA' }, '7')).toEqual({ cancel: 'stato is PAGATA in the back-office', entity: 'scadenze-tari:7' });
  });

  it('names event.key on every row when the key template does not compile', () => {
    const map = rowMapper({ ...spec, event: { ...spec.event, key: '{{ id ' } });
    expect(map(row, '7')).toEqual({ errors: [{ rowKey: '7', field: 'event.key', message: expect.stringContaining('unclosed "{{"') }] });
  });
});
