// A small, strict mustache-like renderer for message templates: {{ path | filter | ... }}.
// Strict because a citizen must never receive "Appuntamento il undefined": a missing value is
// an error, not an empty string. Values are never re-parsed as templates; they are inserted as
// they are unless the caller escapes them for where the text goes (IO's markdown: render.ts).
import { offsetMs } from '../util/local-time.js';
import { backOfficeNumber } from '../util/back-office-number.js';
import { codeLabel, personName } from './back-office-text.js';

export interface TemplateOptions {
  /** Time zone for date filters. Default "Europe/Rome". */
  timeZone?: string;
  /** BCP 47 locale for date filters and upper/lower. Default "it-IT". */
  locale?: string;
  /**
   * Applied to each {{ … }}'s result (after its filters, a default(…) text included) and never to
   * the template's own text, so a value cannot turn into the markup the template author wrote.
   */
  escape?: (value: string) => string;
}

export interface TemplateErrorDetails {
  /** The variable path as written in the template ("start", "office.name"). */
  variable?: string;
  filter?: string;
  /** Which part of a message the template is (set by renderMessage). */
  part?: 'subject' | 'markdown';
  eventType?: string;
  language?: string;
}

export class TemplateError extends Error {
  readonly variable?: string;
  readonly filter?: string;
  readonly part?: 'subject' | 'markdown';
  readonly eventType?: string;
  readonly language?: string;

  constructor(message: string, details: TemplateErrorDetails = {}) {
    super(message);
    this.name = 'TemplateError';
    Object.assign(this, details);
  }
}

export const TEMPLATE_FILTERS = ['datetime', 'date', 'time', 'euro', 'name', 'label', 'upper', 'lower', 'default'] as const;
export type TemplateFilter = (typeof TEMPLATE_FILTERS)[number];

interface FilterCall {
  name: TemplateFilter;
  arg?: string;
}
interface Expression {
  path: string;
  /** path split at its dots, once at compile time (rendered per row of a backfill). */
  keys: string[];
  filters: FilterCall[];
}

export interface CompiledTemplate {
  /** Every variable path the template reads, in order of first use. */
  readonly variables: string[];
  render(data: Record<string, unknown>, opts?: TemplateOptions): string;
}

const TAG = /\{\{([\s\S]*?)\}\}/g;
const PATH = /^\s*([A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|\d+))*)\s*/;
const FILTER = /^\|\s*([A-Za-z_]\w*)\s*(?:\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)\s*)?/;

function parseExpression(raw: string): Expression {
  const bad = (why: string): TemplateError => new TemplateError(`bad template expression "{{${raw}}}": ${why}`);
  const m = PATH.exec(raw);
  if (!m) throw bad('expected a variable name');
  const expr: Expression = { path: m[1]!, keys: m[1]!.split('.'), filters: [] };
  let rest = raw.slice(m[0].length);
  while (rest.length > 0) {
    const f = FILTER.exec(rest);
    if (!f) throw bad(`unexpected "${rest.trim()}"`);
    const name = f[1]!;
    if (!(TEMPLATE_FILTERS as readonly string[]).includes(name)) {
      throw new TemplateError(`unknown template filter "${name}" (known: ${TEMPLATE_FILTERS.join(', ')})`, {
        variable: expr.path,
        filter: name,
      });
    }
    const literal = f[2];
    if (name === 'default' && literal === undefined) throw bad('default needs a value, e.g. default("-")');
    if (name !== 'default' && literal !== undefined) throw bad(`filter "${name}" takes no argument`);
    // Both quote styles unescape the same way: drop the quotes, then "\x" → "x".
    const arg = literal === undefined ? undefined : literal.slice(1, -1).replace(/\\(.)/g, '$1');
    expr.filters.push({ name: name as TemplateFilter, ...(arg === undefined ? {} : { arg }) });
    rest = rest.slice(f[0].length);
  }
  return expr;
}

/** Parses once; unknown filters and malformed tags fail here, before any data is seen. */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: Array<string | Expression> = [];
  let last = 0;
  for (const m of source.matchAll(TAG)) {
    parts.push(source.slice(last, m.index));
    parts.push(parseExpression(m[1]!));
    last = m.index + m[0].length;
  }
  const tail = source.slice(last);
  const open = tail.indexOf('{{');
  if (open >= 0) throw new TemplateError(`unclosed "{{" at character ${last + open + 1} of the template`);
  parts.push(tail);
  const variables = [...new Set(parts.filter((p): p is Expression => typeof p !== 'string').map((p) => p.path))];
  return {
    variables,
    render(data, opts = {}) {
      const ctx = { timeZone: opts.timeZone ?? 'Europe/Rome', locale: opts.locale ?? 'it-IT' };
      const escape = opts.escape;
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') { out += p; continue; }
        const value = evaluate(p, data, ctx);
        out += escape ? escape(value) : value;
      }
      return out;
    },
  };
}

// Templates come from config: a handful of sources, rendered once per row of a backfill.
const compiled = new Map<string, CompiledTemplate>();

export function renderTemplate(source: string, data: Record<string, unknown>, opts?: TemplateOptions): string {
  let t = compiled.get(source);
  if (!t) {
    t = compileTemplate(source);
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(source, t);
  }
  return t.render(data, opts);
}

function lookup(data: Record<string, unknown>, keys: string[]): unknown {
  let value: unknown = data;
  for (const key of keys) {
    // Own properties only: "{{ constructor }}" must not reach the prototype.
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

type Ctx = Required<Omit<TemplateOptions, 'escape'>>;

function missing(variable: string): TemplateError {
  return new TemplateError(`template variable "${variable}" is missing`, { variable });
}

function evaluate(expr: Expression, data: Record<string, unknown>, ctx: Ctx): string {
  const variable = expr.path;
  let value = lookup(data, expr.keys);
  for (const { name, arg } of expr.filters) {
    if (name === 'default') {
      if (value === undefined || value === null) value = arg;
      continue;
    }
    if (value === undefined || value === null) throw missing(variable);
    value = applyFilter(name, value, variable, ctx);
  }
  if (value === undefined || value === null) throw missing(variable);
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    throw new TemplateError(`template variable "${variable}" is not a text value (use a field of it, e.g. {{ ${variable}.name }})`, {
      variable,
    });
  }
  return String(value);
}

function applyFilter(name: Exclude<TemplateFilter, 'default'>, value: unknown, variable: string, ctx: Ctx): string {
  switch (name) {
    case 'upper':
      return String(value).toLocaleUpperCase(ctx.locale);
    case 'lower':
      return String(value).toLocaleLowerCase(ctx.locale);
    case 'name':
      return personName(String(value), ctx.locale);
    case 'label':
      return codeLabel(String(value), ctx.locale);
    case 'euro':
      return formatEuro(amountOf(value, variable), ctx.locale);
    default: {
      const d = toDate(value, variable, ctx.timeZone);
      if (d.dateOnly && name !== 'date') {
        throw new TemplateError(`template variable "${variable}" is a date without a time of day: use | date`, {
          variable,
          filter: name,
        });
      }
      // A calendar date (YYYY-MM-DD) is the same day everywhere: format it in UTC, where it was built.
      const timeZone = d.dateOnly ? 'UTC' : ctx.timeZone;
      const ms = d.date.getTime();
      // None of these formats shows seconds: within a minute of the zone's clock the text is the
      // same, so a backfill formats each minute once (Intl is the costly part of rendering).
      const key = `${name}|${ctx.locale}|${timeZone}|${Math.floor((ms + offsetMs(ms, timeZone)) / 60_000)}`;
      const cached = formatted.get(key);
      if (cached !== undefined) return cached;
      const text = formatDate(name, d.date, ctx.locale, timeZone);
      if (formatted.size >= 50_000) formatted.clear();
      formatted.set(key, text);
      return text;
    }
  }
}

const formatted = new Map<string, string>();

// "1.234" with no comma is 1234 written the Italian way or 1.234 from a DECIMAL(…,3) column:
// guessing could tell a citizen a thousand times the amount, so it is an error instead.
const AMBIGUOUS_AMOUNT = /^[-+]?\d{1,3}(\.\d{3})+$/;

function amountOf(value: unknown, variable: string): number {
  const n = typeof value === 'number' ? value
    : typeof value === 'string' && !AMBIGUOUS_AMOUNT.test(value.trim()) ? backOfficeNumber(value)
    : null;
  if (n === null || !Number.isFinite(n)) {
    throw new TemplateError(`template variable "${variable}" is not an unambiguous amount in euro (e.g. 1234.5, 1234,50 or 1.234,50)`, { variable, filter: 'euro' });
  }
  return n;
}

/**
 * "€ 1.234,50" in Italian (Intl's it-IT would write "1234,50 €": no group separator below 10,000),
 * the locale's own currency format otherwise. Rounded to the cent, so a float column's 12.499999
 * reads 12,50; the tiny nudge keeps 1.005 (stored as 1.00499…) from rounding down.
 */
function formatEuro(n: number, locale: string): string {
  const cents = Math.sign(n) * Math.round(Math.abs(n) * 100 + 1e-6);
  const value = cents === 0 ? 0 : cents / 100;
  if (locale.toLowerCase().split('-')[0] === 'it') {
    const [int, dec] = Math.abs(value).toFixed(2).split('.');
    return `€ ${value < 0 ? '-' : ''}${int!.replace(/\B(?=(\d{3})+$)/g, '.')},${dec}`;
  }
  return new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(value);
}

function formatDate(name: 'date' | 'time' | 'datetime', date: Date, locale: string, timeZone: string): string {
  if (name === 'date') return fmt(locale, timeZone, 'date').format(date);
  const time = fmt(locale, timeZone, 'time').format(date);
  if (name === 'time') return time;
  // Intl says "alle ore 10:30" in Italian; the plainer "alle 10:30" reads better in a message.
  if (locale.toLowerCase().split('-')[0] === 'it') return `${fmt(locale, timeZone, 'weekdayDate').format(date)} alle ${time}`;
  return fmt(locale, timeZone, 'full').format(date);
}

// Always the 24-hour clock: the times are the Comune's, and "05:30 PM" (en-US, the default of a
// bare "en") is not how an Italian office states them.
const FORMATS = {
  date: { day: 'numeric', month: 'long', year: 'numeric' },
  time: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  weekdayDate: { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' },
  full: { dateStyle: 'full', timeStyle: 'short', hourCycle: 'h23' },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

// Building an Intl.DateTimeFormat costs far more than formatting with one: one per combination.
const formats = new Map<string, Intl.DateTimeFormat>();
function fmt(locale: string, timeZone: string, format: keyof typeof FORMATS): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${format}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...FORMATS[format], timeZone });
    formats.set(key, f);
  }
  return f;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Dates come as Date or ISO strings. "2026-11-24" is a calendar date; a date-time without
 * offset ("2026-11-24T10:30") is wall-clock time in `timeZone`, as back-offices store it.
 */
function invalidDate(variable: string): TemplateError {
  return new TemplateError(`template variable "${variable}" is not a valid date (expected an ISO 8601 string or a Date)`, { variable });
}

function toDate(value: unknown, variable: string, timeZone: string): { date: Date; dateOnly: boolean } {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalidDate(variable);
    return { date: value, dateOnly: false };
  }
  const m = typeof value === 'string' ? ISO.exec(value.trim()) : null;
  if (!m) throw invalidDate(variable);
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  const h = Number(m[4] ?? 0), mi = Number(m[5] ?? 0), s = Number(m[6] ?? 0);
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC silently rolls 2026-02-30 over to March: reject instead.
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw invalidDate(variable);
  if (m[4] === undefined) return { date: check, dateOnly: true };
  const offset = m[8]?.toUpperCase();
  if (offset === undefined) return { date: new Date(wallTimeToUtc(wall, timeZone)), dateOnly: false };
  if (offset === 'Z') return { date: check, dateOnly: false };
  const [oh, om] = [Number(offset.slice(1, 3)), Number(offset.slice(-2))];
  const sign = offset.startsWith('-') ? -1 : 1;
  return { date: new Date(wall - sign * (oh * 60 + om) * 60_000), dateOnly: false };
}

/** The instant at which clocks in `timeZone` show `wall` (wall-clock fields encoded as UTC). */
function wallTimeToUtc(wall: number, timeZone: string): number {
  // The offset at the guessed instant may differ across a DST change: correct once.
  const guess = wall - offsetMs(wall, timeZone);
  return wall - offsetMs(guess, timeZone);
}
