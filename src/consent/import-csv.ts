// `ponte consent import <file.csv> --source "…"`: consents collected elsewhere (a paper form at
// the registry office, a web form). Columns: phone (required), action (opt_in | opt_out, default
// opt_in), date (ISO, default now), note. A bad line is reported with its number and skipped.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { recordConsent, type ConsentAction } from '../store/consent.js';
import { toE164 } from '../util/phone.js';

export interface ImportReport {
  imported: number;
  cancelled: number;
  errors: Array<{ line: number; field: string; message: string }>;
}

export async function importConsentCsv(knex: Knex, file: string, source: string, now = Date.now()): Promise<ImportReport> {
  const rows = parse(readFileSync(file, 'utf8'), { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
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
    const at = dateText ? Date.parse(dateText) : now;
    if (Number.isNaN(at)) { report.errors.push({ line, field: 'date', message: `"${dateText}" is not an ISO date` }); continue; }
    const { cancelled } = await recordConsent(knex, { phone, action, source: `csv:${source}`, text: `line ${line}${row.note ? `: ${row.note}` : ''}`, at });
    report.imported++;
    report.cancelled += cancelled;
  }
  return report;
}
