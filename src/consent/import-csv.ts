// `ponte consent import <file.csv> --source "…"`: consents collected elsewhere (a paper form at
// the registry office, a web form). Columns: phone (required), action (opt_in | opt_out, default
// opt_in), date (default now), note; or telefono, azione, data, nota. A bad line is reported with
// its number and skipped; a file that cannot be read as such a table is refused whole.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { recordConsent, type ConsentAction } from '../store/consent.js';
import { toE164 } from '../util/phone.js';
import { isoWallText } from '../connectors/sources/csv/dates.js';
import { parseWallTime, wallTimeToInstant } from '../util/local-time.js';

export interface ImportReport {
  imported: number;
  cancelled: number;
  errors: Array<{ line: number; field: string; message: string }>;
}

/**
 * Italian spreadsheets save CSV with ";" (the comma is the decimal separator): read the
 * delimiter off the header line, which holds no data that could contain either.
 */
function delimiterOf(text: string): ',' | ';' {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return (header.match(/;/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0) ? ';' : ',';
}

/**
 * The instant of a form's date: dd/mm/yyyy [hh:mm[:ss]] (what an Italian form or spreadsheet
 * has) or ISO, as the municipality's wall time; an ISO instant with its offset as it is. Never
 * mm/dd: Date.parse would read 01/12/2026 (1 December) as 12 January, a false date of proof.
 */
function consentInstant(text: string, zone: string): number | null {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  const wall = parseWallTime(isoWallText(t));
  return wall ? wallTimeToInstant(wall, zone).getTime() : null;
}

/**
 * UTF-8 when the bytes are UTF-8, else Windows-1252: what Excel saves as "CSV" on an Italian PC.
 * Read as UTF-8, its "è" in a note (kept as proof) would turn into U+FFFD.
 */
function decodeCsv(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // stream: true avoids Node 20's Latin-1 fast path, which reads 0x80 as U+0080 instead of €.
    const d = new TextDecoder('windows-1252');
    return d.decode(bytes, { stream: true }) + d.decode();
  }
}

export async function importConsentCsv(knex: Knex, file: string, source: string, now = Date.now(), zone = 'Europe/Rome'): Promise<ImportReport> {
  const text = decodeCsv(readFileSync(file));
  const rows = parse(text, { delimiter: delimiterOf(text), columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }) as Record<string, string>[];
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  if (rows.length && !columns.includes('phone') && !columns.includes('telefono')) {
    // Every line would otherwise be reported as "not a valid phone number".
    throw new Error(`${file}: no phone column in the header line (it has: ${columns.join(', ')}); expected phone (or telefono), action, date, note`);
  }
  const report: ImportReport = { imported: 0, cancelled: 0, errors: [] };
  for (const [i, row] of rows.entries()) {
    const line = i + 2; // header is line 1
    const phone = toE164(row.phone || row.telefono);
    if (!phone) { report.errors.push({ line, field: 'phone', message: 'missing or not a valid phone number' }); continue; }
    // opt-in / opt-out as `ponte consent set` spells them, opt_in / opt_out, or in Italian.
    const rawAction = (row.action || row.azione || 'opt_in').toLowerCase().replace('-', '_');
    const action: ConsentAction | null = ['opt_in', 'optin', 'in', 'si', 'sì'].includes(rawAction) ? 'opt_in' : ['opt_out', 'optout', 'out', 'no'].includes(rawAction) ? 'opt_out' : null;
    if (!action) { report.errors.push({ line, field: 'action', message: `"${row.action || row.azione}" is neither opt-in nor opt-out` }); continue; }
    const dateText = row.date || row.data;
    const at = dateText ? consentInstant(dateText, zone) : now;
    if (at === null) { report.errors.push({ line, field: 'date', message: `"${dateText}" is not a date (dd/mm/yyyy [hh:mm] or ISO yyyy-mm-dd)` }); continue; }
    if (at > now) { report.errors.push({ line, field: 'date', message: `"${dateText}" is in the future` }); continue; }
    const note = row.note || row.nota;
    const { cancelled } = await recordConsent(knex, { phone, action, source: `csv:${source}`, text: `line ${line}${note ? `: ${note}` : ''}`, at });
    report.imported++;
    report.cancelled += cancelled;
  }
  return report;
}
