// Turning back-office cell values into event fields, the same way in every SQL connector.
import type { Recipient, RowError } from '../contract.js';

/** A cell as trimmed text; null, undefined and blank become undefined. */
export function cellText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = (value instanceof Date ? value.toISOString() : String(value)).trim();
  return text === '' ? undefined : text;
}

/** Status values compare trimmed and case-insensitively, whatever the database collation does. */
export function normaliseStatus(value: unknown): string {
  return (cellText(value) ?? '').toUpperCase();
}

export function statusIn(value: unknown, list: readonly string[]): boolean {
  const status = normaliseStatus(value);
  return list.some((v) => normaliseStatus(v) === status);
}

const LANGUAGE_NAMES: Record<string, string> = {
  ita: 'it', italiano: 'it', italian: 'it',
  eng: 'en', inglese: 'en', english: 'en',
  deu: 'de', ger: 'de', tedesco: 'de', deutsch: 'de', german: 'de',
  fra: 'fr', fre: 'fr', francese: 'fr', french: 'fr',
  spa: 'es', spagnolo: 'es', spanish: 'es',
  slv: 'sl', sloveno: 'sl',
};

/**
 * ISO 639-1 code from what back-offices hold ("it", "IT", "it-IT", "ITA", "Italiano" ...);
 * undefined when unrecognisable, so the channel falls back to Italian.
 */
export function normaliseLanguage(value: unknown): string | undefined {
  const text = cellText(value)?.toLowerCase();
  if (!text) return undefined;
  const head = text.split(/[-_]/)[0]!;
  if (/^[a-z]{2}$/.test(head)) return head;
  return LANGUAGE_NAMES[head];
}

/**
 * The recipient of a row. The fiscal code is trimmed and upper-cased but NOT validated: the
 * runner validates it centrally. Returns a RowError when it is missing.
 */
export function recipientOf(
  row: { fiscalCode?: unknown; phone?: unknown; language?: unknown },
  rowKey: string,
  fiscalCodeColumn: string,
): Recipient | RowError {
  const fiscalCode = cellText(row.fiscalCode)?.toUpperCase();
  if (!fiscalCode) return { rowKey, field: fiscalCodeColumn, message: 'missing fiscal code' };
  const recipient: Recipient = { fiscalCode };
  const phone = cellText(row.phone);
  if (phone) recipient.phone = phone;
  const language = normaliseLanguage(row.language);
  if (language) recipient.language = language;
  return recipient;
}

/** The back-office ids of this connector's pending entities ("appointment:123" -> "123"). */
export function entityIds(entities: readonly string[], prefix: string): string[] {
  const start = `${prefix}:`;
  return [...new Set(entities.filter((e) => e.startsWith(start) && e.length > start.length).map((e) => e.slice(start.length)))];
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Copies the defined, non-blank text cells into template data (optional fields stay absent). */
export function optionalText(target: Record<string, unknown>, fields: Record<string, unknown>): Record<string, unknown> {
  for (const [name, value] of Object.entries(fields)) {
    const text = cellText(value);
    if (text !== undefined) target[name] = text;
  }
  return target;
}
