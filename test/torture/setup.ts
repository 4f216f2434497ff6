// The world a torture run works in: a scratch folder holding a Ponte config derived from
// config/ponte.yaml, a declarative connector and its SQLite back-office, one row per citizen.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { parse, stringify } from 'yaml';
import { fiscalCodeCheckChar } from '../../src/util/fiscal-code.js';
import { instantToWallTime } from '../../src/util/local-time.js';
import type { OnUncertain } from '../../src/config/schema.js';
import { PONTE_ROOT } from '../../src/util/ponte-root.js';

const MONTHS = 'ABCDEHLMPRST';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Row n's citizen: a distinct valid fiscal code for every n < 873,600, so messages map 1:1 to rows. */
export function tortureFiscalCode(n: number): string {
  const perLetter = 100 * 12 * 28;
  if (!Number.isInteger(n) || n < 0 || n >= perLetter * 26) throw new RangeError(`no torture fiscal code for row ${n}`);
  const yy = String(n % 100).padStart(2, '0');
  const month = MONTHS[Math.floor(n / 100) % 12]!;
  const day = String(1 + (Math.floor(n / 1200) % 28)).padStart(2, '0');
  const first15 = `TRT${LETTERS[Math.floor(n / perLetter)]!}RS${yy}${month}${day}H501`;
  return first15 + fiscalCodeCheckChar(first15);
}

/** Environment variable names the scratch config uses (never the usual ones, so a developer's DATABASE_URL cannot leak in). */
export const STORE_URL_ENV = 'PONTE_TORTURE_DATABASE_URL';
export const IO_KEY_ENV = 'IO_KEY_TORTURE';

export interface WorkdirSettings {
  /** Where the (delaying) IO endpoint listens, e.g. http://127.0.0.1:1234/api/v1 */
  ioUrl: string;
  pageSize: number;
  /** How often the connector polls (besides at each start). */
  pollEverySeconds: number;
  concurrency: number;
  batchSize: number;
  /** The dispatcher's onUncertain (default 'hold', the product's default). */
  onUncertain?: OnUncertain;
  /** dispatcher.leaseSeconds (default 3: a killed process's claims run out quickly). */
  leaseSeconds?: number;
  /** The connector's cron schedule instead of every pollEverySeconds (it is also polled at each start). */
  connectorSchedule?: string;
  /** dispatcher.sendAhead (default: the product's). */
  sendAhead?: number;
}

export interface Workdir {
  dir: string;
  configFile: string;
  /** The SQLite store (used when no store URL is given). */
  storeFile: string;
  backofficeFile: string;
  /** dispatcher.sendJournalDir: this world's own, so a test can see what is left in it. */
  journalDir: string;
}

const CONNECTOR_SQL = `-- The torture back-office: one notice per citizen, due in two days.
SELECT a.id, a.codice_fiscale, a.scadenza, a.importo
FROM avvisi a
`;

function connectorYaml(pageSize: number): string {
  // Shaped like connectors/scadenze-tari: a window connector whose rows are due at once
  // (notBefore 7 days before the due date, the due date 2 days ahead).
  return stringify({
    name: 'torture',
    description: 'Avvisi di prova per il test di resistenza ai crash',
    shape: 'window',
    key: 'id',
    pageSize,
    window: { column: 'scadenza', aheadHours: 192 },
    event: {
      type: 'torture.avviso',
      key: '{{ id }}:{{ due }}',
      recipient: { fiscalCode: 'codice_fiscale' },
      data: { amount: 'importo' },
      dates: { due: 'scadenza' },
      notBefore: { date: 'due', offsetHours: -168 },
      expiresAt: { date: 'due' },
    },
    templates: {
      it: {
        subject: 'Avviso di prova del Comune',
        markdown: 'Ciao, questo è un avviso di prova di **{{ amount }} euro** con scadenza il **{{ due | date }}**. Non è richiesta alcuna azione: è un messaggio inviato per verificare il servizio.',
      },
    },
  });
}

/** The embedded default config, cut down to one IO service, one connector and fast takeovers after a kill. */
function tortureConfig(w: Workdir, s: WorkdirSettings): string {
  const cfg = parse(readFileSync(join(PONTE_ROOT, 'config/ponte.yaml'), 'utf8')) as Record<string, unknown>;
  delete cfg.sandbox; // the sandbox runs in the test process, where its record survives every kill
  cfg.store = { client: 'sqlite', filename: w.storeFile, urlEnv: STORE_URL_ENV };
  cfg.channels = {
    appio: {
      baseUrl: s.ioUrl,
      // Longer than any withheld response lasts before the driver kills: a send is uncertain
      // here only because a process died with it in flight, never by a client timeout.
      timeoutSeconds: 60,
      // No waits for a rate slot: the IO endpoint's latency paces the work instead.
      owners: { comune: { requests: 100_000, windowSeconds: 1 } },
      services: { tributi: { keyEnv: IO_KEY_ENV, owner: 'comune' } },
    },
  };
  cfg.server = { ...(cfg.server as object), port: 0 };
  cfg.dispatcher = {
    ...(cfg.dispatcher as object),
    schedule: '* * * * * *',
    batchSize: s.batchSize,
    concurrency: s.concurrency,
    // A killed process's claims run out quickly, so the next one takes its work over.
    leaseSeconds: s.leaseSeconds ?? 3,
    sendJournalDir: w.journalDir,
    maxAttempts: 50,
    backoff: { baseSeconds: 0.2, maxSeconds: 1 },
    statusPollSeconds: [0.3, 0.6],
    onUncertain: s.onUncertain ?? 'hold',
    ...(s.sendAhead !== undefined ? { sendAhead: s.sendAhead } : {}),
  };
  cfg.connectors = [{
    id: 'torture',
    use: 'torture',
    schedule: s.connectorSchedule ?? `*/${s.pollEverySeconds} * * * * *`,
    deliver: [{ channel: 'appio', service: 'tributi' }],
    config: { source: { client: 'better-sqlite3', filename: w.backofficeFile } },
  }];
  return stringify(cfg);
}

export function makeWorkdir(s: WorkdirSettings): Workdir {
  const dir = mkdtempSync(join(tmpdir(), 'ponte-torture-'));
  const w: Workdir = {
    dir,
    configFile: join(dir, 'config/ponte.yaml'),
    storeFile: join(dir, 'data/ponte.sqlite'),
    backofficeFile: join(dir, 'data/backoffice.sqlite'),
    journalDir: join(dir, 'data/journals'),
  };
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'connectors/torture'), { recursive: true });
  writeFileSync(join(dir, 'connectors/torture/connector.yaml'), connectorYaml(s.pageSize));
  writeFileSync(join(dir, 'connectors/torture/query.sql'), CONNECTOR_SQL);
  writeFileSync(w.configFile, tortureConfig(w, s));
  return w;
}

/** The back-office database, written by the driver between two lives of the daemon only. */
export class Backoffice {
  readonly knex: Knex;
  rows = 0;

  constructor(file: string) {
    this.knex = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
  }

  async create(): Promise<void> {
    await this.knex.schema.createTable('avvisi', (t) => {
      t.integer('id').primary();
      t.string('codice_fiscale', 16).notNullable();
      t.string('scadenza', 19).notNullable();
      t.string('importo', 20).notNullable();
    });
  }

  /** Adds `count` rows (ids continue from the last), due two days from now. */
  async add(count: number): Promise<void> {
    const due = instantToWallTime(new Date(Date.now() + 48 * 3_600_000), 'Europe/Rome');
    const rows = Array.from({ length: count }, (_, i) => {
      const id = this.rows + i + 1;
      return { id, codice_fiscale: tortureFiscalCode(id), scadenza: due, importo: `${10 + (id % 90)},00` };
    });
    for (let i = 0; i < rows.length; i += 200) await this.knex('avvisi').insert(rows.slice(i, i + 200));
    this.rows += count;
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}
