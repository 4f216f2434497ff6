// One back-office row → the event it stands for, or the reason it gets none, or row errors
// naming the column. Pure: the same row always gives the same event (and the same dedup key).
import type { EmittedEvent, RowError } from '../contract.js';
import type { RowVerdict } from '../sql/window-poll.js';
import type { DeclarativeSpec, OnlyCondition } from './schema.js';
import { compileTemplate, TemplateError, type CompiledTemplate } from '../../messages/template.js';
import { cellText, normaliseLanguage, statusIn } from '../sql/rows.js';
import { parseWallTime, wallTimeToInstant } from '../../util/local-time.js';
import { backOfficeNumber } from '../../util/back-office-number.js';

export { backOfficeNumber };

/** Alias under which a date column is selected as text (drivers would shift a DATETIME). */
export const dateAlias = (name: string) => `__date_${name}`;

export type RowMapper = (row: Record<string, unknown>, id: string) => RowVerdict;

/**
 * The spec's mapping, worked out once: a backfill maps a million rows, so nothing per row is
 * looked up, compiled or closed over that could be done here.
 */
export function rowMapper(spec: DeclarativeSpec, opts: { entityOnVerdict?: boolean } = {}): RowMapper {
  const ev = spec.event;
  const dates = Object.entries(ev.dates).map(([name, column]) => ({ name, column, alias: dateAlias(name) }));
  const dataFields = Object.entries(ev.data);
  let key: CompiledTemplate | TemplateError;
  try {
    key = compileTemplate(ev.key);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    key = e; // every row names it, as a row error on event.key
  }
  // What the key reads: a data field by that name, else the raw column.
  const keyRoots = key instanceof TemplateError ? [] : [...new Set(key.variables.map((v) => v.split('.')[0]!))];
  const keyOptions = { timeZone: spec.timeZone };
  const entityPrefix = `${spec.name}:`;
  const only = (ev.only ?? []).map((c) => ({ c, check: onlyCheck(c) }));

  const verdict: RowMapper = (row, id) => {
    const entity = entityPrefix + id;
    if (ev.cancelWhen && statusIn(row[ev.cancelWhen.column], ev.cancelWhen.in)) {
      return { cancel: `${ev.cancelWhen.column} is ${cellText(row[ev.cancelWhen.column])} in the back-office` };
    }
    for (const { c, check } of only) {
      const miss = check(row[c.column]);
      if (miss === null) continue;
      if ('error' in miss) return { errors: [{ rowKey: id, field: c.column, message: miss.error }], cancel: 'the back-office row cannot be read' };
      return { cancel: miss.reason };
    }
    let errors: RowError[] | undefined;
    const instants: Record<string, number> = {};
    for (const d of dates) {
      const text = cellText(row[d.alias]);
      const wall = text === undefined ? null : parseWallTime(text);
      if (!wall) {
        (errors ??= []).push({ rowKey: id, field: d.column, message: text === undefined ? `missing ${d.name} date` : `"${text}" is not a date-time` });
        continue;
      }
      instants[d.name] = wallTimeToInstant(wall, spec.timeZone).getTime();
    }
    const fiscalCode = cellText(row[ev.recipient.fiscalCode]);
    if (fiscalCode === undefined) (errors ??= []).push({ rowKey: id, field: ev.recipient.fiscalCode, message: 'missing fiscal code' });
    if (errors) return { errors, cancel: 'the back-office row cannot be read' };

    const data: Record<string, unknown> = {};
    for (const [name, column] of dataFields) {
      const v = cellText(row[column]);
      if (v !== undefined) data[name] = v;
    }
    for (const d of dates) data[d.name] = new Date(instants[d.name]!).toISOString();

    let keyText: string;
    try {
      const scope: Record<string, unknown> = {};
      for (const root of keyRoots) {
        if (Object.hasOwn(data, root)) scope[root] = data[root];
        else if (Object.hasOwn(row, root)) scope[root] = row[root];
      }
      if (key instanceof TemplateError) throw key;
      keyText = key.render(scope, keyOptions);
    } catch (e) {
      return { errors: [{ rowKey: id, field: 'event.key', message: e instanceof TemplateError ? e.message : String(e) }] };
    }
    const phone = ev.recipient.phone ? cellText(row[ev.recipient.phone]) : undefined;
    const language = ev.recipient.language ? normaliseLanguage(row[ev.recipient.language]) : undefined;
    const event: EmittedEvent = {
      key: `${spec.name}:${keyText}`,
      type: ev.type,
      entity,
      rowKey: id,
      recipient: { fiscalCode: fiscalCode!, ...(phone ? { phone } : {}), ...(language ? { language } : {}) },
      data,
    };
    if (ev.notBefore) event.notBefore = new Date(instants[ev.notBefore.date]! + ev.notBefore.offsetHours * 3_600_000);
    if (ev.expiresAt) event.expiresAt = new Date(instants[ev.expiresAt.date]! + ev.expiresAt.offsetHours * 3_600_000);
    return { events: [event] };
  };
  if (!opts.entityOnVerdict) return verdict;
  return (row, id) => {
    const v = verdict(row, id);
    v.entity = entityPrefix + id;
    return v;
  };
}

type OnlyCheck = (value: unknown) => { reason: string } | { error: string } | null;

const BOUNDS = [
  ['below', (n: number, b: number) => n < b, 'below'], ['atMost', (n: number, b: number) => n <= b, 'at most'],
  ['above', (n: number, b: number) => n > b, 'above'], ['atLeast', (n: number, b: number) => n >= b, 'at least'],
] as const;

/**
 * One event.only condition as a check of a cell: null when the cell meets it, else why the row
 * gets nothing, or a row error. Worked out once per connector, not per row (a backfill maps millions).
 */
function onlyCheck(c: OnlyCondition): OnlyCheck {
  const wanted = BOUNDS.filter(([k]) => c[k] !== undefined).map(([k, ok, words]) => ({ bound: c[k]!, ok, words }));
  return (value) => {
    const text = cellText(value);
    if (c.in && !statusIn(value, c.in)) return { reason: `${c.column} is ${text ?? 'empty'}, not one of ${c.in.join(', ')}` };
    if (wanted.length === 0) return null;
    if (text === undefined) return { error: 'missing: event.only compares it with a number' };
    const n = backOfficeNumber(text);
    if (n === null) return { error: `"${text}" is not a number (event.only compares it)` };
    for (const w of wanted) if (!w.ok(n, w.bound)) return { reason: `${c.column} is ${text}, not ${w.words} ${w.bound}` };
    return null;
  };
}
