// A CSV connector in a scratch folder: connector.yaml written from a few settings, export files
// written as the back-office would (encoding, delimiter), dated in the past unless asked not to.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { tempDir } from '../../helpers/temp-dir.js';
import { declarativeConnector } from '../../../src/connectors/declarative/load.js';
import type { Batch } from '../../../src/connectors/contract.js';

export const CF = 'RSSMRA80A01H501U';

export function csvConnector(opts: { shape: 'window' | 'incremental'; source?: string; extra?: string }): { dir: string; file: string } {
  const dir = tempDir('csv');
  mkdirSync(join(dir, 'c'));
  const shapeBlock = opts.shape === 'window' ? 'window: { column: data_saldo, aheadHours: 48, behindHours: 48 }' : 'cursor: { mode: position, startFrom: beginning }';
  const file = join(dir, 'c', 'connector.yaml');
  writeFileSync(file, `name: mensa-test
description: Avvisi mensa
shape: ${opts.shape}
source: ${opts.source ?? '{ kind: csv, path: ../export/saldi.csv, delimiter: ";", encoding: windows-1252 }'}
key: n_avviso
${shapeBlock}
pageSize: 2
event:
  type: mensa.saldo
  key: "{{ id }}:{{ on }}"
  recipient: { fiscalCode: codice_fiscale, phone: telefono }
  data: { pupil: alunno, balance: saldo }
  dates: { on: data_saldo }
  cancelWhen: { column: stato, in: [ANNULLATO] }
${opts.extra ?? ''}
templates:
  it:
    subject: "Mensa scolastica: credito da ricaricare"
    markdown: "Ciao, il credito mensa di {{ pupil }} il {{ on | date }} era di {{ balance }} euro. Puoi ricaricarlo con pagoPA dal portale dei servizi scolastici."
`);
  mkdirSync(join(dir, 'export'));
  return { dir, file };
}

/** Writes an export file; `settled: false` leaves its modification time at now (being written). */
export function writeExport(path: string, text: string, opts: { encoding?: 'utf8' | 'latin1'; settled?: boolean } = {}): void {
  // Windows-1252 puts € at 0x80, where Latin-1 has a control character.
  writeFileSync(path, (opts.encoding ?? 'latin1') === 'latin1' ? Buffer.from(text.replace(/€/g, '\x80'), 'latin1') : Buffer.from(text, 'utf8'));
  if (opts.settled !== false) {
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(path, past, past);
  }
}

export const HEADER = 'n_avviso;codice_fiscale;telefono;alunno;saldo;data_saldo;stato\r\n';

export async function collect(conn: ReturnType<typeof declarativeConnector>, opts: { now: Date; pending?: string[]; cursor?: unknown; source?: unknown }) {
  const out = { events: [] as Batch['events'], cancellations: [] as NonNullable<Batch['cancellations']>, errors: [] as NonNullable<Batch['errors']>, cursors: [] as unknown[], batches: 0 };
  const config = conn.configSchema.parse(opts.source ? { source: opts.source } : {});
  for await (const b of conn.poll({ instanceId: 't', config, cursor: opts.cursor, now: opts.now, log: pino({ level: 'silent' }), pendingEntities: opts.pending ?? [], signal: new AbortController().signal } as never)) {
    out.batches++;
    out.events.push(...b.events); out.cancellations.push(...(b.cancellations ?? [])); out.errors.push(...(b.errors ?? []));
    if (b.cursor !== undefined) out.cursors.push(b.cursor);
  }
  return out;
}
