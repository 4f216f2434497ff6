// A back-office whose connection freezes mid-run (a firewall or NAT dropping its state, a paused
// VM: packets vanish, nothing is answered, nothing is closed), through a TCP proxy in front of the
// real PostgreSQL / MariaDB. Before source.queryTimeoutSeconds the poll waited for ever (the
// proxy's kernel acknowledges every byte; on a real network, TCP's ~15 min) and the lease, renewed
// by a timer, kept every process off that connector. Now: the run fails within the bound with an
// error naming the connector and the setting, is recorded, releases its lease, and the next run
// resumes from the committed cursor; another connector polls meanwhile as usual.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Knex } from 'knex';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { citizen } from '../helpers/pipeline.js';
import { createPraticheEdilizie } from './poll-helpers.js';
import { declarativeConnector } from '../../src/connectors/declarative/load.js';
import { ioRenderer } from '../../src/app/render.js';
import type { Channel } from '../../src/channels/channel.js';
import type { ConnectorInstance } from '../../src/connectors/registry.js';
import { runConnector, type RunnerDeps } from '../../src/connectors/runner.js';

const { run, skipped } = await availableDialects(['postgres', 'mariadb']);
if (skipped.length) console.warn(`[frozen-backoffice] skipped: ${skipped.join('; ')}`);

const CONNECTOR = fileURLToPath(new URL('../../connectors/pratiche-edilizie/connector.yaml', import.meta.url));
const ROWS = 60;
const PAGE = 5;
const TIMEOUT_S = 1;
/** The bound plus closing the pool and recording the run: what "within the bound" allows. */
const SLACK_MS = 1_500;

async function seed(knex: Knex, db: ScratchDb): Promise<void> {
  await createPraticheEdilizie(db);
  await knex('pratiche_edilizie').insert(Array.from({ length: ROWS }, (_, i) => ({
    id: i + 1, numero_pratica: `PE-2026-${i + 1}`, codice_fiscale: citizen(i + 1), telefono: null, stato: 'IN_ISTRUTTORIA',
    aggiornata_il: `2026-03-01 10:${String(i).padStart(2, '0')}:00`,
  })));
}

/** The same connector under another name (its own dedup keys), for "the other connectors". */
function renamedCopy(name: string): string {
  const dir = join(tempDir('frozen-bo'), name);
  mkdirSync(dir);
  const yaml = readFileSync(CONNECTOR, 'utf8').replace(/^name: pratiche-edilizie$/m, `name: ${name}`);
  writeFileSync(join(dir, 'connector.yaml'), yaml);
  copyFileSync(join(CONNECTOR, '../query.sql'), join(dir, 'query.sql'));
  return join(dir, 'connector.yaml');
}

let envCounter = 0;
function instanceOf(file: string, id: string, url: string, client: 'pg' | 'mysql2'): ConnectorInstance {
  const definition = declarativeConnector(file, { pageSize: PAGE, lagSeconds: 0, startFrom: 'beginning' });
  const env = `PONTE_TEST_FROZEN_BO_${++envCounter}`;
  process.env[env] = url;
  return {
    id, definition, config: definition.configSchema.parse({ source: { client, connectionEnv: env, queryTimeoutSeconds: TIMEOUT_S } }),
    settings: { id, use: definition.name, schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
  };
}

describe.each(run)('a %s back-office that freezes', (dialect) => {
  let backoffice: ScratchDb;
  let store: TestStore;
  let proxy: TcpProxy;
  let frozen: ConnectorInstance;
  let other: ConnectorInstance;
  let deps: (extra?: Partial<RunnerDeps>) => RunnerDeps;

  beforeEach(async () => {
    backoffice = await scratchDb(dialect);
    await seed(backoffice.knex, backoffice);
    store = await testStore('sqlite');
    const target = new URL(backoffice.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const client = dialect === 'postgres' ? 'pg' : 'mysql2';
    frozen = instanceOf(CONNECTOR, 'pratiche', proxy.via(backoffice.url), client);
    other = instanceOf(renamedCopy('pratiche-bis'), 'pratiche-bis', backoffice.url, client); // not through the proxy
    const channel = { name: 'appio', render: ioRenderer((t) => frozen.definition.eventTypes[t] ?? other.definition.eventTypes[t], 'Europe/Rome') } as unknown as Channel;
    deps = (extra = {}) => ({ store, channels: new Map([['appio', channel]]), log: pino({ level: 'silent' }), owner: 'p1', ...extra });
  });
  afterEach(async () => {
    await proxy.restore();
    await proxy.close();
    await store.close();
    await backoffice.destroy();
  });

  const events = async (prefix: string) => ((await store.knex('events').pluck('dedup_key')) as string[]).filter((k) => k.startsWith(`${prefix}:`));
  const lastRun = async (id: string) => store.knex('connector_runs').where({ instance_id: id }).orderBy('id', 'desc').first('status', 'error');
  const leaseOf = async (id: string) => store.knex('connector_state').where({ instance_id: id }).first('lease_owner');

  it('mid-run: the run fails within the bound, naming connector and setting, is recorded, frees its lease; the next run resumes; another connector is unaffected', async () => {
    let frozeAt = 0;
    // Frozen after the first committed page, with the next pages still to read.
    const failing = runConnector(frozen, deps({
      onProgress: () => { if (!frozeAt) { frozeAt = Date.now(); void proxy.cut('freeze'); } },
    }));
    while (!frozeAt) await new Promise((ok) => setTimeout(ok, 5));
    // Meanwhile another connector polls its back-office as usual.
    const [r, bis] = await Promise.all([failing, runConnector(other, deps({ owner: 'p2' }))]);
    const detectedMs = Date.now() - frozeAt;
    console.log(`[frozen-backoffice ${dialect}] mid-run freeze: run failed ${detectedMs} ms after the freeze (bound ${TIMEOUT_S} s)`);
    expect(bis).toMatchObject({ status: 'ok', rowsRead: ROWS, eventsNew: ROWS });

    expect(r.status).toBe('failed');
    expect(r.error).toBe(`pratiche-edilizie: the back-office database did not answer within ${TIMEOUT_S} s (source.queryTimeoutSeconds); the query was abandoned and its connection closed`);
    expect(detectedMs).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);
    expect(r.eventsNew).toBeGreaterThanOrEqual(PAGE);
    expect(r.eventsNew).toBeLessThan(ROWS);
    expect(await lastRun('pratiche')).toEqual({ status: 'failed', error: r.error });
    expect(await leaseOf('pratiche')).toEqual({ lease_owner: null });

    // Still frozen: the next schedule's run fails as well, at connect, within the bound.
    const t0 = Date.now();
    const again = await runConnector(frozen, deps());
    console.log(`[frozen-backoffice ${dialect}] run started while frozen: failed after ${Date.now() - t0} ms`);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(new RegExp(`^pratiche-edilizie: the back-office database did not answer (a connection )?within ${TIMEOUT_S} s`));
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);
    expect(await leaseOf('pratiche')).toEqual({ lease_owner: null });

    // Back: the next run resumes after the committed cursor, every row once.
    await proxy.restore();
    const ok = await runConnector(frozen, deps());
    expect(ok).toMatchObject({ status: 'ok', eventsDuplicate: 0 });
    expect(r.eventsNew + ok.eventsNew).toBe(ROWS);
    expect(new Set(await events('pratiche-edilizie')).size).toBe(ROWS);
  });
});
