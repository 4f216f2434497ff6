// Running a connector's poll() the way the runner does, and back-office tables per dialect.
import pino from 'pino';
import type { Knex } from 'knex';
import type { Batch, Cancellation, ConnectorDefinition, EmittedEvent, RowError } from '../../src/connectors/contract.js';
import type { ScratchDb } from '../helpers/databases.js';

export interface PollResult {
  batches: Batch<unknown>[];
  events: EmittedEvent[];
  cancellations: Cancellation[];
  errors: RowError[];
}

export async function pollOnce(
  connector: ConnectorDefinition<any, any>,
  rawConfig: unknown,
  opts: { now: Date; pendingEntities?: string[] },
): Promise<PollResult> {
  const config = connector.configSchema.parse(rawConfig);
  const batches: Batch<unknown>[] = [];
  const ac = new AbortController();
  for await (const b of connector.poll({
    instanceId: 'test',
    config,
    cursor: undefined,
    now: opts.now,
    log: pino({ level: 'silent' }),
    pendingEntities: opts.pendingEntities ?? [],
    signal: ac.signal,
  })) batches.push(b);
  return {
    batches,
    events: batches.flatMap((b) => b.events),
    cancellations: batches.flatMap((b) => b.cancellations ?? []),
    errors: batches.flatMap((b) => b.errors ?? []),
  };
}

/** Keys of the events emitted for one entity. */
export function keysOf(result: PollResult, entity: string): string[] {
  return result.events.filter((e) => e.entity === entity).map((e) => e.key).sort();
}

let envCounter = 0;

/** Source config reaching the scratch database the way production does (URL in an env var). */
export function sourceFor(db: ScratchDb): Record<string, unknown> {
  if (db.dialect === 'sqlite') return { client: 'better-sqlite3', filename: db.url };
  const name = `PONTE_TEST_BACKOFFICE_${++envCounter}`;
  process.env[name] = db.url;
  return { client: db.dialect === 'postgres' ? 'pg' : 'mysql2', connectionEnv: name };
}

/** Real zone-less datetime types: PostgreSQL timestamp, MariaDB DATETIME, SQLite text. */
export function localDateTimeType(db: ScratchDb): string {
  return db.dialect === 'postgres' ? 'timestamp without time zone' : 'datetime';
}

export async function createAppointmentsTable(db: ScratchDb, table = 'appuntamenti'): Promise<void> {
  await db.knex.schema.createTable(table, (t: Knex.CreateTableBuilder) => {
    t.integer('id').primary();
    t.string('codice_fiscale', 20);
    t.string('telefono', 20);
    t.string('lingua', 10);
    t.specificType('data_ora', localDateTimeType(db));
    t.string('stato', 20);
    t.string('ufficio', 200);
    t.text('servizio');
    t.string('indirizzo', 200);
  });
}

export async function createPermitsTable(db: ScratchDb, table = 'permessi_ztl'): Promise<void> {
  await db.knex.schema.createTable(table, (t: Knex.CreateTableBuilder) => {
    t.integer('id').primary();
    t.string('codice_fiscale', 20);
    t.string('telefono', 20);
    t.string('lingua', 10);
    t.string('targa', 10);
    t.date('scadenza');
    t.string('stato', 20);
  });
}

/** The back-office table of connectors/pratiche-edilizie (building permits), empty. */
export async function createPraticheEdilizie(db: ScratchDb): Promise<void> {
  await db.knex.schema.createTable('pratiche_edilizie', (t: Knex.CreateTableBuilder) => {
    t.integer('id').primary();
    t.string('numero_pratica', 30);
    t.string('codice_fiscale', 16);
    t.string('telefono', 20);
    t.string('stato', 30);
    t.specificType('aggiornata_il', localDateTimeType(db)).notNullable();
  });
}

/** The back-office table of connectors/scadenze-tari (TARI instalments), empty. */
export async function createRateTari(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_tari', (t) => {
    t.integer('id').primary(); t.string('codice_fiscale', 16); t.string('telefono', 20); t.string('lingua', 5);
    t.dateTime('scadenza'); t.string('importo', 20); t.string('rata', 10); t.string('stato', 20);
  });
}
