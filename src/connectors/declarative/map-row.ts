// One back-office row → the event it stands for, or the reason it gets none, or row errors
// naming the column. Pure: the same row always gives the same event (and the same dedup key).
import type { EmittedEvent, RowError } from '../contract.js';
import type { RowVerdict } from '../sql/window-poll.js';
import type { DeclarativeSpec } from './schema.js';
import { renderTemplate, TemplateError } from '../../messages/template.js';
import { cellText, normaliseLanguage, statusIn } from '../sql/rows.js';
import { parseWallTime, wallTimeToInstant } from '../../util/local-time.js';

/** Alias under which a date column is selected as text (drivers would shift a DATETIME). */
export const dateAlias = (name: string) => `__date_${name}`;

export function mapRow(spec: DeclarativeSpec, row: Record<string, unknown>, id: string): RowVerdict {
  const ev = spec.event;
  const errors: RowError[] = [];
  const fail = (field: string, message: string) => errors.push({ rowKey: id, field, message });

  if (ev.cancelWhen && statusIn(row[ev.cancelWhen.column], ev.cancelWhen.in)) {
    return { cancel: `${ev.cancelWhen.column} is ${cellText(row[ev.cancelWhen.column])} in the back-office` };
  }
  const dates: Record<string, Date> = {};
  for (const [name, column] of Object.entries(ev.dates)) {
    const text = cellText(row[dateAlias(name)]);
    if (text === undefined) { fail(column, `missing ${name} date`); continue; }
    const wall = parseWallTime(text);
    if (!wall) { fail(column, `"${text}" is not a date-time`); continue; }
    dates[name] = wallTimeToInstant(wall, spec.timeZone);
  }
  const fiscalCode = cellText(row[ev.recipient.fiscalCode]);
  if (fiscalCode === undefined) fail(ev.recipient.fiscalCode, 'missing fiscal code');
  if (errors.length) return { errors, cancel: 'the back-office row cannot be read' };

  const data: Record<string, unknown> = {};
  for (const [name, column] of Object.entries(ev.data)) {
    const v = cellText(row[column]);
    if (v !== undefined) data[name] = v;
  }
  for (const [name, d] of Object.entries(dates)) data[name] = d.toISOString();

  let key: string;
  try {
    key = renderTemplate(ev.key, { ...row, ...data }, { timeZone: spec.timeZone });
  } catch (e) {
    return { errors: [{ rowKey: id, field: 'event.key', message: e instanceof TemplateError ? e.message : String(e) }] };
  }
  const at = (rule?: { date: string; offsetHours: number }) => (rule ? new Date(dates[rule.date]!.getTime() + rule.offsetHours * 3_600_000) : undefined);
  const phone = ev.recipient.phone ? cellText(row[ev.recipient.phone]) : undefined;
  const language = ev.recipient.language ? normaliseLanguage(row[ev.recipient.language]) : undefined;
  const notBefore = at(ev.notBefore);
  const expiresAt = at(ev.expiresAt);
  const event: EmittedEvent = {
    key: `${spec.name}:${key}`,
    type: ev.type,
    entity: `${spec.name}:${id}`,
    rowKey: id,
    recipient: { fiscalCode: fiscalCode!, ...(phone ? { phone } : {}), ...(language ? { language } : {}) },
    data,
    ...(notBefore ? { notBefore } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
  return { events: [event] };
}
