// The HTTP JSON source against a real server on 127.0.0.1: auth from the environment, items at a
// path, both kinds of paging, nested fields, the incremental cursor bounded by the server's
// clock, and errors that name the URL (never its query or the token) and the HTTP status.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { tempDir } from '../../helpers/temp-dir.js';
import { declarativeConnector, readDeclarative } from '../../../src/connectors/declarative/load.js';
import { ConfigError } from '../../../src/config/errors.js';
import type { Batch } from '../../../src/connectors/contract.js';

const CF = 'RSSMRA80A01H501U';
const NOW = new Date('2026-11-24T10:00:00Z');
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void): Promise<string> {
  server = createServer((req, res) => handler(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function connector(source: string, shape: 'window' | 'incremental' = 'window'): string {
  const dir = tempDir('http');
  mkdirSync(join(dir, 'c'));
  const file = join(dir, 'c', 'connector.yaml');
  writeFileSync(file, `name: mensa-api
description: Avvisi mensa
shape: ${shape}
source: ${source}
${shape === 'window' ? 'window: { column: data, aheadHours: 48, behindHours: 48 }' : 'cursor: { column: data, lagSeconds: 60, startFrom: beginning }'}
event:
  type: mensa.saldo
  key: "{{ id }}:{{ on }}"
  recipient: { fiscalCode: genitore.codice_fiscale }
  data: { balance: saldo }
  dates: { on: data }
templates:
  it:
    subject: "Mensa scolastica: credito da ricaricare"
    markdown: "Ciao, il credito mensa il {{ on | date }} era di {{ balance }} euro. Puoi ricaricarlo con pagoPA dal portale dei servizi scolastici."
`);
  return file;
}

async function collect(file: string, opts: { cursor?: unknown; config?: Record<string, unknown> } = {}) {
  const conn = declarativeConnector(file);
  const out = { events: [] as Batch['events'], errors: [] as NonNullable<Batch['errors']>, cursors: [] as unknown[] };
  for await (const b of conn.poll({ instanceId: 't', config: opts.config ?? {}, cursor: opts.cursor, now: NOW, log: pino({ level: 'silent' }), pendingEntities: [], signal: new AbortController().signal } as never)) {
    out.events.push(...b.events); out.errors.push(...(b.errors ?? []));
    if (b.cursor !== undefined) out.cursors.push(b.cursor);
  }
  return out;
}

const item = (id: number, data = '2026-11-24T09:30:00+01:00') => ({ id, genitore: { codice_fiscale: CF }, saldo: '-12,50', data });

describe('HTTP JSON source', () => {
  it('sends the bearer token from the environment, follows page numbers, reads items at itemsPath and nested fields', async () => {
    process.env.MENSA_API_TOKEN = 'sekret-token';
    const seen: string[] = [];
    const url = await serve((req, res, u) => {
      seen.push(`${req.headers.authorization} ${u.search}`);
      const page = Number(u.searchParams.get('pagina'));
      const items = page === 0 ? [item(1), item(2, '24/11/2026 09:30')] : page === 1 ? [item(3), { id: 4, saldo: '1' }, 'x'] : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { items } }));
    });
    const r = await collect(connector(`{ kind: http, url: "${url}/saldi?anno=2026", authEnv: MENSA_API_TOKEN, itemsPath: data.items, paging: { param: pagina, first: 0 } }`));
    expect(seen).toEqual(['Bearer sekret-token ?anno=2026&pagina=0', 'Bearer sekret-token ?anno=2026&pagina=1', 'Bearer sekret-token ?anno=2026&pagina=2']);
    // An instant with an offset and an Italian wall time name the same moment in Europe/Rome.
    expect(r.events.map((e) => e.key)).toEqual(['mensa-api:1:2026-11-24T08:30:00.000Z', 'mensa-api:2:2026-11-24T08:30:00.000Z', 'mensa-api:3:2026-11-24T08:30:00.000Z']);
    expect(r.events[0]).toMatchObject({ recipient: { fiscalCode: CF }, data: { balance: '-12,50' }, rowKey: '1 (page 1 item 1)' });
    expect(r.errors).toEqual([
      { rowKey: '4 (page 2 item 2)', field: 'data', message: 'missing on date' },
      { rowKey: '4 (page 2 item 2)', field: 'genitore.codice_fiscale', message: 'missing fiscal code' },
      { rowKey: '? (page 2 item 3)', field: '(item)', message: 'not an object' },
    ]);
  });

  it('follows next links (relative to the page) until there is none', async () => {
    const url = await serve((_req, res, u) => {
      const p = u.searchParams.get('p') ?? '1';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows: [item(Number(p))], links: { next: p === '3' ? null : `/saldi?p=${Number(p) + 1}` } }));
    });
    const r = await collect(connector(`{ kind: http, url: "${url}/saldi", itemsPath: rows, paging: { next: links.next } }`));
    expect(r.events.map((e) => e.entity)).toEqual(['mensa-api:1', 'mensa-api:2', 'mensa-api:3']);
  });

  // Older municipal APIs answer Latin-1 and say so: read as UTF-8, "Niccolò" became "Niccol\uFFFD".
  it('reads the answer in the charset its Content-Type names', async () => {
    const json = JSON.stringify({ rows: [{ ...item(1), saldo: '€ -12,50', alunno: "Niccolò D'Angelo" }] });
    for (const [type, body] of [
      ['application/json; charset=ISO-8859-1', Buffer.from(json.replace('€', '\x80'), 'latin1')],
      ['application/json;charset="windows-1252"', Buffer.from(json.replace('€', '\x80'), 'latin1')],
      ['application/json', Buffer.from(json, 'utf8')],
      ['application/json; charset=utf-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json, 'utf8')])],
    ] as const) {
      const url = await serve((_req, res) => res.writeHead(200, { 'content-type': type }).end(body));
      const file = connector(`{ kind: http, url: "${url}/saldi", itemsPath: rows }`);
      writeFileSync(file, readFileSync(file, 'utf8').replace('data: { balance: saldo }', 'data: { balance: saldo, pupil: alunno }').replace('era di {{ balance }} euro', 'di {{ pupil }} era di {{ balance }}'));
      const r = await collect(file);
      expect(r.events[0]?.data, type).toMatchObject({ balance: '€ -12,50', pupil: "Niccolò D'Angelo" });
      await new Promise<void>((done) => server!.close(() => done()));
      server = undefined;
    }
  });

  it('fails the run with the URL (no query, no token) and what went wrong', async () => {
    process.env.MENSA_API_TOKEN = 'sekret-token';
    let answer: (res: ServerResponse) => void = (res) => res.writeHead(401).end('{"token":"sekret-token"}');
    const url = await serve((req, res) => (req.url?.startsWith('/sso/') ? res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Accesso</title>') : answer(res)));
    const file = connector(`{ kind: http, url: "${url}/saldi?apikey=QUERYSECRET", authEnv: MENSA_API_TOKEN, timeoutSeconds: 0.3 }`);
    const failure = () => collect(file).then(() => '', (e: Error) => e.message);
    const e401 = await failure();
    // Which variable to look at, by name: "the token" left the CED guessing among several.
    expect(e401).toBe(`${url}/saldi: HTTP 401 Unauthorized (check MENSA_API_TOKEN (the bearer token) in Ponte's environment: wrong, expired, or for another API?)`);
    const noAuth = connector(`{ kind: http, url: "${url}/saldi" }`);
    expect(await collect(noAuth).then(() => '', (e: Error) => e.message)).toBe(`${url}/saldi: HTTP 401 Unauthorized (the request carried no credentials: name the variable holding the token in source.authEnv or headersEnv)`);
    answer = (res) => res.writeHead(503).end();
    expect(await failure()).toBe(`${url}/saldi: HTTP 503 Service Unavailable (the back-office server failed; the next scheduled run tries again)`);
    answer = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    expect(await failure()).toBe(`${url}/saldi: the answer is not JSON (content-type text/html): an HTML page, usually a login page or a proxy's error page; check source.url (the API's address, not the web site's) and MENSA_API_TOKEN (the bearer token)`);
    // A single sign-on front that sends a bad token to its login page: where it ended up is said.
    answer = (res) => res.writeHead(302, { location: '/sso/login?back=QUERYSECRET' }).end();
    const redirected = await failure();
    expect(redirected).toMatch(new RegExp(`^${url}/saldi: the answer is not JSON \\(content-type text/html; charset=utf-8\\), after a redirect to ${url}/sso/login: an HTML page`));
    expect(redirected).not.toContain('QUERYSECRET');
    answer = (res) => res.writeHead(200).end('{"results":[]}');
    expect(await failure()).toBe(`${url}/saldi: no array at itemsPath "(the whole answer)" (page 1; the answer has: results)`);
    answer = () => { /* never answers */ };
    expect(await failure()).toBe(`${url}/saldi: no answer within 0.3 s (timeoutSeconds)`);
    delete process.env.MENSA_API_TOKEN;
    expect(await failure()).toBe('HTTP source: environment variable MENSA_API_TOKEN (the bearer token) is not set');
    // A port nobody listens on any more.
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((r) => gone.close(() => r()));
    const closed = connector(`{ kind: http, url: "http://127.0.0.1:${port}/x?token=QUERYSECRET" }`);
    expect(await collect(closed).then(() => '', (e: Error) => e.message)).toBe(`http://127.0.0.1:${port}/x: cannot connect (ECONNREFUSED)`);
  });

  /** Another server, recording the X-Api-Key each request brought (none must reach it). */
  async function otherServer(body: string) {
    const seen: Array<string | undefined> = [];
    const other = createServer((req, res) => { seen.push(req.headers['x-api-key'] as string | undefined); res.writeHead(200).end(body); });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    return { seen, other, otherPort: (other.address() as AddressInfo).port };
  }

  it('never sends the credentials to another server a redirect names; follows redirects on the same server', async () => {
    // fetch itself drops Authorization on such a redirect but kept X-Api-Key: the key went to the other host.
    process.env.MENSA_API_KEY = 'sekret-api-key';
    process.env.MENSA_API_TOKEN = 'sekret-token';
    const { seen, other, otherPort } = await otherServer('[]');
    try {
      const url = await serve((req, res) => {
        if (req.url?.startsWith('/old')) res.writeHead(301, { location: '/saldi' }).end();
        else if (req.url?.startsWith('/moved')) res.writeHead(302, { location: `http://localhost:${otherPort}/login?back=QUERYSECRET` }).end();
        else res.writeHead(200).end(JSON.stringify(req.headers['x-api-key'] === 'sekret-api-key' ? [item(1)] : []));
      });
      const same = connector(`{ kind: http, url: "${url}/old", headersEnv: { X-Api-Key: MENSA_API_KEY } }`);
      expect((await collect(same)).events.map((e) => e.entity)).toEqual(['mensa-api:1']);
      const moved = connector(`{ kind: http, url: "${url}/moved", authEnv: MENSA_API_TOKEN, headersEnv: { X-Api-Key: MENSA_API_KEY } }`);
      const err = await collect(moved).then(() => '', (e: Error) => e.message);
      expect(err).toBe(`${url}/moved: HTTP 302 redirects to another server, http://localhost:${otherPort}/login, and the credentials (MENSA_API_TOKEN (the bearer token) and MENSA_API_KEY (header X-Api-Key)) are not sent there: a wrong token sent to a login page, or the API has moved (then set source.url to its new address)`);
      expect(seen).toEqual([]);
    } finally {
      delete process.env.MENSA_API_KEY;
      delete process.env.MENSA_API_TOKEN;
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it("a next-page link to another server is not followed with the credentials", async () => {
    process.env.MENSA_API_KEY = 'sekret-api-key';
    const { seen, other, otherPort } = await otherServer('{"rows":[]}');
    try {
      const url = await serve((_req, res) => res.writeHead(200).end(JSON.stringify({ rows: [item(1)], links: { next: `http://localhost:${otherPort}/saldi?p=2` } })));
      const paged = connector(`{ kind: http, url: "${url}/saldi", headersEnv: { X-Api-Key: MENSA_API_KEY }, itemsPath: rows, paging: { next: links.next } }`);
      const err = await collect(paged).then(() => '', (e: Error) => e.message);
      expect(err).toBe(`${url}/saldi: the next page's link (links.next) points to another server, http://localhost:${otherPort}/saldi, and the credentials (MENSA_API_KEY (header X-Api-Key)) are not sent there`);
      expect(seen).toEqual([]);
    } finally {
      delete process.env.MENSA_API_KEY;
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it('fails the run before any row when no row has a field connector.yaml maps', async () => {
    const url = await serve((_req, res) => res.writeHead(200).end(JSON.stringify([{ id: 1, codice_fiscale: CF, saldo: '1', data: '2026-11-24 09:00' }])));
    await expect(collect(connector(`{ kind: http, url: "${url}/saldi" }`))).rejects.toThrow(
      /names field\(s\) that no row of the first page of http:\/\/127\.0\.0\.1:\d+\/saldi has — event\.recipient\.fiscalCode: "genitore\.codice_fiscale"\. The rows have: id, codice_fiscale, saldo, data\./);
  });

  it('incremental: reads after the cursor, up to the server clock (Date header) minus the lag', async () => {
    const rows = [item(1, '2026-11-24 09:00:00.000001'), item(2, '2026-11-24 09:00:00.000001'), item(3, '2026-11-24 09:59:30')];
    // The back-office's clock says 10:00 Rome: with a 60 s lag, the 09:59:30 row is not read yet.
    const url = await serve((_req, res) => res.writeHead(200, { date: 'Tue, 24 Nov 2026 09:00:00 GMT' }).end(JSON.stringify(rows)));
    const file = connector(`{ kind: http, url: "${url}/saldi" }`, 'incremental');
    const a = await collect(file);
    expect(a.events.map((e) => e.entity)).toEqual(['mensa-api:1', 'mensa-api:2']);
    expect(a.cursors).toEqual([{ ts: '2026-11-24 09:00:00.000001000', id: '2' }]);
    const b = await collect(file, { cursor: { ts: '2026-11-24 09:00:00.000001000', id: '1' } });
    expect(b.events.map((e) => e.entity)).toEqual(['mensa-api:2']);
  });
});

describe('HTTP JSON source: since (the API filters by change time)', () => {
  // An API that answers only the rows changed strictly after modificatiDal (an instant), as many
  // do, and records every query it received.
  async function listing(rows: Array<ReturnType<typeof item>>, queries: string[]) {
    return serve((_req, res, u) => {
      queries.push(u.search);
      const since = u.searchParams.get('modificatiDal');
      const served = since ? rows.filter((r) => Date.parse(r.data) > Date.parse(since)) : rows;
      res.writeHead(200, { date: 'Tue, 24 Nov 2026 09:00:00 GMT' }).end(JSON.stringify(served));
    });
  }
  const incremental = (source: string, cursor: string) => {
    const file = connector(source, 'incremental');
    writeFileSync(file, readFileSync(file, 'utf8').replace('cursor: { column: data, lagSeconds: 60, startFrom: beginning }', cursor));
    return file;
  };

  it('asks for the rows since the cursor minus the lag; the first run with startFrom: now sends nothing and reads one page as before', async () => {
    const queries: string[] = [];
    const rows = [item(1, '2026-11-24T09:00:00+01:00'), item(2, '2026-11-24T09:50:00+01:00')];
    const url = await listing(rows, queries);
    const file = incremental(`{ kind: http, url: "${url}/saldi?anno=2026", since: { param: modificatiDal } }`, 'cursor: { column: data, lagSeconds: 60 }');
    const first = await collect(file);
    expect(queries).toEqual(['?anno=2026']);
    expect(first.events).toEqual([]);
    expect(first.cursors).toEqual([{ ts: '2026-11-24 09:59:00.999999999', id: '' }]);
    // A row changed after the bound, and one committed late but stamped inside the 60 s overlap.
    rows.push(item(3, '2026-11-24T09:59:30+01:00'), item(4, '2026-11-24T09:58:10+01:00'));
    const second = await collect(file, { cursor: first.cursors[0] });
    // 09:59:00 Rome minus lagSeconds (60) is 08:58:00Z.
    expect(queries[1]).toBe('?anno=2026&modificatiDal=2026-11-24T08%3A58%3A00Z');
    // Row 4 (09:58:10) is before the cursor (09:59:00.999…): the cursor still filters exactly.
    expect(second.events.map((e) => e.entity)).toEqual([]);
    // Row 5 shares the cursor's change time with a greater key: the API's strict ">" would drop
    // it if the cursor's own time were sent; the overlap keeps it.
    rows.push(item(5, '2026-11-24T09:58:00+01:00'));
    const third = await collect(file, { cursor: { ts: '2026-11-24 09:58:00.000000000', id: '2' } });
    expect(queries[2]).toBe('?anno=2026&modificatiDal=2026-11-24T08%3A57%3A00Z');
    expect(third.events.map((e) => e.entity)).toEqual(['mensa-api:4', 'mensa-api:5']);
  });

  it('rows the API returns again at the cursor are not sent twice; the parameter is on every numbered page', async () => {
    const queries: string[] = [];
    const url = await serve((_req, res, u) => {
      queries.push(u.search);
      const page = Number(u.searchParams.get('pagina'));
      // Sloppy filter: answers the rows at the cursor again (item 2, already read).
      const items = page === 1 ? [item(2, '2026-11-24 09:30:00.25'), item(3, '2026-11-24 09:30:00.25')] : page === 2 ? [item(5, '2026-11-24 09:40:00')] : [];
      res.writeHead(200, { date: 'Tue, 24 Nov 2026 09:00:00 GMT' }).end(JSON.stringify(items));
    });
    const file = incremental(`{ kind: http, url: "${url}/saldi", paging: { param: pagina }, since: { param: dal, format: local, overlapSeconds: 600 } }`, 'cursor: { column: data, lagSeconds: 60 }');
    const r = await collect(file, { cursor: { ts: '2026-11-24 09:30:00.250000000', id: '2' } });
    expect(queries).toEqual(['?dal=2026-11-24T09%3A20%3A00&pagina=1', '?dal=2026-11-24T09%3A20%3A00&pagina=2', '?dal=2026-11-24T09%3A20%3A00&pagina=3']);
    expect(r.events.map((e) => e.entity)).toEqual(['mensa-api:3', 'mensa-api:5']);
    expect(r.cursors).toEqual([{ ts: '2026-11-24 09:40:00.000000000', id: '5' }]);
  });

  it("a window connector refuses since in an instance's config.source too", async () => {
    const file = connector('{ kind: http, url: "https://a.example/x" }');
    const err = await collect(file, { config: { source: { kind: 'http', url: 'http://127.0.0.1:9/x', headersEnv: {}, timeoutSeconds: 1, maxPages: 1, since: { param: 'dal', format: 'iso' } } } }).then(() => '', (e: Error) => e.message);
    expect(err).toMatch(/: the instance's config\.source has since, which is for shape incremental; mensa-api is a window connector and reads the whole listing$/);
  });

  it('date and epoch formats, and the hour DST repeats taken at its earlier instant', async () => {
    const queries: string[] = [];
    const url = await serve((_req, res, u) => { queries.push(u.search); res.writeHead(200).end('[]'); });
    const at = (format: string, ts: string) => collect(incremental(`{ kind: http, url: "${url}/s", since: { param: dal, format: ${format} } }`, 'cursor: { column: data, lagSeconds: 5 }'), { cursor: { ts, id: '1' } });
    await at('date', '2026-11-24 00:00:03.000000000');
    await at('epoch', '2026-11-24 10:00:05.900000000');
    await at('iso', '2026-10-25 02:30:00.000000000');
    // 00:00:03 minus 5 s is the day before; epoch drops the fraction; 02:30 on 25 Oct is 00:30Z and 01:30Z: the earlier.
    expect(queries).toEqual(['?dal=2026-11-23', `?dal=${Date.parse('2026-11-24T09:00:00Z') / 1000}`, '?dal=2026-10-25T00%3A29%3A55Z']);
  });
});

describe('connector.yaml with an HTTP source', () => {
  const problems = (source: string, shape: 'window' | 'incremental' = 'window', edit = (y: string) => y) => {
    const file = connector(source, shape);
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    try { readDeclarative(file); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as ConfigError).problems; }
    return [];
  };
  it('refuses url and urlEnv together, a non-HTTP url, a secret in place of a variable name, and file or SQL Server cursors', () => {
    expect(problems('{ kind: http, url: "https://a.example/x", urlEnv: X }')).toEqual(['source.url: set url, or urlEnv naming the environment variable that holds it (one, not both)']);
    expect(problems('{ kind: http, url: "ftp://a.example/x" }')).toEqual([expect.stringMatching(/^source\.url: /)]);
    expect(problems('{ kind: http, url: "https://a.example/x", authEnv: "Bearer abc.def" }')).toEqual([expect.stringMatching(/^source\.authEnv: an environment variable name/)]);
    expect(problems('{ kind: http, url: "https://a.example/x", since: { param: dal } }')).toEqual(['source.since: since is for shape incremental (it sends the cursor\'s change time); a window connector reads the whole listing']);
    expect(problems('{ kind: http, url: "https://a.example/x", since: { param: dal, format: rfc } }', 'incremental')).toEqual([expect.stringMatching(/^source\.since\.format: /)]);
    expect(problems('{ kind: http, url: "https://a.example/x" }', 'incremental', (y) => y.replace('cursor: { column: data,', 'cursor: { mode: position,'))).toEqual([
      'cursor.mode: mode position is for file sources (source: { kind: csv })', 'cursor.column: an HTTP cursor needs column: the change column (§2 of docs/connectors.md)',
    ]);
    expect(problems('{ kind: http, url: "https://a.example/x" }', 'incremental', (y) => y.replace('cursor: { column: data,', 'cursor: { column: data, mode: rowversion,'))).toEqual([
      'cursor.mode: mode rowversion is for SQL Server: an HTTP listing has a change column (mode timestamp)',
    ]);
  });
});
