// The back-office the acceptance checks write their cases into: a table in a scratch database,
// a CSV file in a scratch folder, or an HTTP endpoint on 127.0.0.1. The checks only insert, update, delete and read the clock,
// so the same checks run against a SQL connector and a file connector.
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Fixture } from './fixture.js';
import { createTable } from './fixture.js';
import { scratchDb, type Dialect } from './scratch.js';
import { databaseNow } from '../sql/changes-poll.js';
import type { CsvSourceConfig } from '../sources/csv/schema.js';
import type { HttpSourceConfig } from '../sources/http/schema.js';
import { createServer } from 'node:http';
import { parseWallTime, wallTimeToInstant } from '../../util/local-time.js';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

type Row = Record<string, unknown>;

export interface HarnessBackoffice {
  /** "a scratch postgres database", for the report's first line. */
  label: string;
  /** The instance's config.source reaching it. */
  source(): Record<string, unknown>;
  /** A fresh, empty table (or file). */
  reset(): Promise<void>;
  insert(rows: Row[]): Promise<void>;
  /** Every row goes (a file read append-only cannot lose rows: there it does nothing). */
  clear(): Promise<void>;
  remove(id: unknown): Promise<void>;
  update(id: unknown, values: Row): Promise<void>;
  /** The back-office's clock (the database's; a file's is this machine's). */
  now(): Promise<number>;
  destroy(): Promise<void>;
}

export async function sqlBackoffice(dialect: Dialect, fixture: Fixture, key: string): Promise<HarnessBackoffice> {
  const db = await scratchDb(dialect);
  const table = () => db.knex(fixture.table!);
  return {
    label: `a scratch ${dialect} database`,
    source: () => {
      process.env.PONTE_HARNESS_DB_URL = db.url;
      return db.dialect === 'sqlite' ? { client: db.client, filename: db.url } : { client: db.client, connectionEnv: 'PONTE_HARNESS_DB_URL' };
    },
    reset: () => createTable(db.knex, fixture, db.dialect),
    insert: async (rows) => { await table().insert(rows); },
    clear: async () => { await table().del(); },
    remove: async (id) => { await table().where(key, id as string).del(); },
    update: async (id, values) => { await table().where(key, id as string).update(values); },
    now: () => databaseNow(db.knex),
    destroy: () => db.destroy(),
  };
}

/** A wall time as Italian exports write it: 29/03/2026 02:30:00 (a date: 29/03/2026). */
function italian(value: unknown, type: string | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}:\d{2}:\d{2}))?/.exec(text);
  if (!m || (type !== 'datetime' && type !== 'date')) return text;
  return `${m[3]}/${m[2]}/${m[1]}${m[4] ? ` ${m[4]}` : ''}`;
}

/**
 * A CSV export in the connector's own format (delimiter, encoding, header). A window connector
 * reads a snapshot, so every change rewrites the file; an incremental one reads a file that is
 * only appended to, so a change is a new line. Each write is dated in the past, beyond the
 * source's settleSeconds, as a finished export would be.
 */
export function csvBackoffice(source: CsvSourceConfig, fixture: Fixture, key: string, mode: 'snapshot' | 'append'): HarnessBackoffice {
  const dir = mkdtempSync(join(tmpdir(), 'ponte-harness-csv-'));
  // A glob names the files; the harness writes one of them.
  const pattern = basename(source.path);
  const file = join(dir, pattern.replace(/\*/g, '20260101').replace(/\?/g, '0'));
  const columns = source.columns ?? Object.keys(fixture.columns);
  let rows: Row[] = [];
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
  const line = (r: Row) => `${columns.map((c) => quote(italian(r[c], fixture.columns[c]))).join(source.delimiter)}\r\n`;
  const encode = (text: string) => (source.encoding === 'utf8' ? Buffer.from(text, 'utf8') : windows1252(text));
  const settled = () => {
    const past = new Date(Date.now() - (source.settleSeconds + 60) * 1000);
    utimesSync(file, past, past);
  };
  const rewrite = () => {
    const header = source.header ? line(Object.fromEntries(columns.map((c) => [c, c]))) : '';
    // A BOM, as Excel writes one: the reader must drop it from the first column's name.
    writeFileSync(file, Buffer.concat([source.encoding === 'utf8' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), encode(header + rows.map(line).join(''))]));
    settled();
  };
  const append = (more: Row[]) => {
    appendFileSync(file, encode(more.map(line).join('')));
    settled();
  };
  return {
    label: `a scratch CSV file (${source.encoding}, "${source.delimiter}")`,
    source: () => ({ ...source, path: join(dir, pattern) }),
    reset: async () => { rows = []; rewrite(); },
    insert: async (more) => {
      rows.push(...more);
      if (mode === 'append') append(more);
      else rewrite();
    },
    clear: async () => {
      if (mode === 'append') return;
      rows = [];
      rewrite();
    },
    remove: async (id) => { rows = rows.filter((r) => String(r[key]) !== String(id)); rewrite(); },
    update: async (id, values) => {
      const changed = rows.filter((r) => String(r[key]) === String(id)).map((r) => Object.assign(r, values));
      if (mode === 'append') append(changed.map((r) => ({ ...r })));
      else rewrite();
    },
    now: async () => Date.now(),
    destroy: async () => { rmSync(dirname(file), { recursive: true, force: true }); },
  };
}

/**
 * An HTTP JSON listing served on 127.0.0.1 from rows kept in memory, in the connector's own
 * shape: rows at itemsPath, two per page with its paging, and a 401 without the bearer token of
 * authEnv (set to a random value for the checks). Node's server sends the Date header the
 * incremental cursor takes its clock from.
 */
export async function httpBackoffice(source: HttpSourceConfig, key: string, sinceColumn?: string): Promise<HarnessBackoffice> {
  let rows: Row[] = [];
  const token = randomBytes(12).toString('hex');
  if (source.authEnv) process.env[source.authEnv] = token;
  for (const variable of Object.values(source.headersEnv)) process.env[variable] = 'harness';
  const PER_PAGE = 2;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (source.authEnv && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const paging = source.paging;
    const page = !paging ? 1 : 'param' in paging ? Number(url.searchParams.get(paging.param) ?? paging.first) - paging.first + 1 : Number(url.searchParams.get('p') ?? 1);
    // source.since: answered as an API would, only the rows changed at or after it, so every
    // check runs through the parameter Ponte sends (one not in its format is answered 400).
    const since = source.since && sinceColumn ? sinceInstant(source.since.format, url.searchParams.get(source.since.param)) : null;
    if (Number.isNaN(since)) {
      res.writeHead(400).end();
      return;
    }
    const listed = since === null ? rows : rows.filter((r) => {
      const wall = r[sinceColumn!] == null ? null : parseWallTime(String(r[sinceColumn!]));
      return !wall || wallTimeToInstant(wall, 'Europe/Rome').getTime() >= since;
    });
    const items = paging ? listed.slice((page - 1) * PER_PAGE, page * PER_PAGE) : listed;
    let body: unknown = items;
    if (source.itemsPath) for (const step of source.itemsPath.split('.').reverse()) body = { [step]: body };
    if (paging && 'next' in paging && page * PER_PAGE < listed.length) {
      // The next link keeps the request's query (since's parameter), as an API's does.
      const next = new URL(url);
      next.searchParams.set('p', String(page + 1));
      let link: unknown = `${next.pathname}${next.search}`;
      const steps = paging.next.split('.');
      for (const step of steps.slice(1).reverse()) link = { [step]: link };
      (body as Record<string, unknown>)[steps[0]!] = link;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    label: 'a scratch HTTP JSON endpoint on 127.0.0.1',
    source: () => ({ ...source, url: `http://127.0.0.1:${port}/items`, urlEnv: undefined }),
    reset: async () => { rows = []; },
    insert: async (more) => { rows.push(...more.map((r) => ({ ...r }))); },
    clear: async () => { rows = []; },
    remove: async (id) => { rows = rows.filter((r) => String(r[key]) !== String(id)); },
    update: async (id, values) => { for (const r of rows) if (String(r[key]) === String(id)) Object.assign(r, values); },
    now: async () => Date.now(),
    destroy: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The instant a since parameter names, read in its format (local times in Europe/Rome, the harness's zone). */
function sinceInstant(format: NonNullable<HttpSourceConfig['since']>['format'], value: string | null): number | null {
  if (value === null) return null;
  // NaN (answered 400) for a value not in its format.
  if (format === 'epoch') return /^\d+$/.test(value) ? Number(value) * 1000 : NaN;
  if (format === 'iso') return /(Z|[+-]\d\d:?\d\d)$/.test(value) ? Date.parse(value) : NaN;
  const wall = parseWallTime(value);
  return wall && (format === 'date') === (value.length === 10) ? wallTimeToInstant(wall, 'Europe/Rome').getTime() : NaN;
}

// Windows-1252 differs from Latin-1 in 0x80-0x9F (€ is 0x80, ’ is 0x92): Node encodes only
// Latin-1, so a fixture's "€" or typographic apostrophe would be written as the wrong byte.
const CP1252_HIGH = new Map<string, number>();
// { stream: true }: Node 20's one-shot decode of windows-1252 takes a Latin-1 fast path (0x80 → U+0080).
for (let b = 0x80; b <= 0x9f; b++) CP1252_HIGH.set(new TextDecoder('windows-1252').decode(Uint8Array.of(b), { stream: true }), b);

/** Text as Windows-1252 bytes; a character it lacks becomes "?", as export programs write it. */
export function windows1252(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out[n++] = CP1252_HIGH.get(ch) ?? (code <= 0xff && (code < 0x80 || code > 0x9f) ? code : 0x3f);
  }
  return out.subarray(0, n);
}
