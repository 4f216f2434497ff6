// event.only: a file has no WHERE, so "only when the balance is negative" is said in connector.yaml.
// Rows outside it get nothing and their pending sends are cancelled (a balance topped up before its
// reminder went out); a value that cannot be compared is a row error naming the column.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { declarativeConnector } from '../../../src/connectors/declarative/load.js';
import { backOfficeNumber } from '../../../src/connectors/declarative/map-row.js';
import { ConfigError } from '../../../src/config/errors.js';
import { CF, collect, csvConnector, HEADER, writeExport } from './helpers.js';

const NOW = new Date('2026-11-24T10:00:00Z');

function withOnly(file: string, only: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace('  cancelWhen: { column: stato, in: [ANNULLATO] }\n', `  cancelWhen: { column: stato, in: [ANNULLATO] }\n  only: ${only}\n`));
}

describe('event.only', () => {
  it('sends only the rows that meet it, cancels the pending ones that no longer do, and names an unreadable value', async () => {
    const { dir, file } = csvConnector({ shape: 'window' });
    withOnly(file, '[{ column: saldo, below: 0 }, { column: stato, in: [DA_INVIARE] }]');
    writeExport(join(dir, 'export/saldi.csv'), HEADER
      + `1;${CF};;Niccolò;-12,50 €;24/11/2026 08:30;DA_INVIARE\r\n`
      + `2;${CF};;Anna;5,00;24/11/2026 08:30;DA_INVIARE\r\n` // topped up: its pending reminder goes
      + `3;${CF};;Luca;-1.234,50;24/11/2026 08:30;DA_INVIARE\r\n`
      + `4;${CF};;Sara;-3,00;24/11/2026 08:30;INVIATO\r\n`
      + `5;${CF};;Marco;boh;24/11/2026 08:30;DA_INVIARE\r\n`);
    const r = await collect(declarativeConnector(file), { now: NOW, pending: ['mensa-test:2'] });
    expect(r.events.map((e) => e.entity)).toEqual(['mensa-test:1', 'mensa-test:3']);
    expect(r.cancellations).toEqual([{ entity: 'mensa-test:2', reason: 'saldo is 5,00, not below 0' }]);
    expect(r.errors).toEqual([
      { rowKey: `5 (${join(dir, 'export/saldi.csv')} line 6)`, field: 'saldo', message: '"boh" is not a number (event.only compares it)' },
    ]);
  });

  it('reads numbers as back-offices write them', () => {
    expect(['-12,50', '-12,50 €', '1.234,50', '-1.234.567,5', '-12.50', '1234', '+3', '\u22124,00', 'EUR 3,00'].map(backOfficeNumber))
      .toEqual([-12.5, -12.5, 1234.5, -1234567.5, -12.5, 1234, 3, -4, 3]);
    expect(['', 'boh', '12,5,0', '1-2'].map(backOfficeNumber)).toEqual([null, null, null, null]);
  });

  it('refuses a condition that compares nothing, naming the file and the field', () => {
    const { file } = csvConnector({ shape: 'window' });
    withOnly(file, '[{ column: saldo }]');
    let err: unknown;
    try { declarativeConnector(file); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toContain(file);
    expect((err as ConfigError).problems.join('\n')).toMatch(/event\.only\[0\]: give at least one of below, atMost, above, atLeast \(numbers\) or in \(values\)/);
  });
});
