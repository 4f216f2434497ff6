// A failure drill: the PostgreSQL store goes away under a working `ponte run` (a restart, a
// failover, a firewall) and comes back. A TCP proxy stands between the process and the real server
// (test/helpers/tcp-proxy.ts), so the server itself, shared with other suites, is never touched.
// Judged from what the IO sandbox received and from the store afterwards:
//  - the process stays up and recovers by itself, with nothing lost and nothing sent twice;
//  - sends IO answered while the store was away are recorded once it is back (not left uncertain);
//  - the log says once that the store is unreachable, naming it without its password, and when it
//    is back, not one stack trace per delivery;
//  - /readyz answers 503 naming the store while it is away and 200 after; /healthz stays 200;
//  - a connection that freezes (no FIN, no RST: packets vanish) is found within
//    store.queryTimeoutSeconds, not after TCP's ~15 min (for ever through the proxy).
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { availableDialects, PG_URL } from '../helpers/databases.js';
import { startTcpProxy, type CutMode, type TcpProxy } from '../helpers/tcp-proxy.js';
import { sleep, type PonteProcess } from './ponte-process.js';
import { STORE_URL_ENV } from './setup.js';
import { stopWorld, type StopWorld } from './stop-world.js';
import { CONFIRM_MS } from '../../src/store/outage.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[store-outage] skipped: ${skipped.join('; ')} (the drill cuts a PostgreSQL store)`);

const ROWS = 40;
const MORE_ROWS = 20;
const LATENCY_MS = 400;
const CONCURRENCY = 4;
const CUT_MS = 12_000;
const FREEZE_MS = 20_000;
/** store.queryTimeoutSeconds for the freeze (30 in production). */
const STORE_TIMEOUT_S = 3;
const PASSWORD = 'drill-s3cret';

let world: StopWorld | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await world?.close();
  await proxy?.close();
  world = undefined;
  proxy = undefined;
});

/** The URL of the process's HTTP server, from its 'HTTP server listening' log line. */
function serverUrl(p: PonteProcess): Promise<string> {
  return new Promise((ok, fail) => {
    let seen = '';
    const t = setTimeout(() => fail(new Error(`no HTTP server within 30 s\n${p.tail()}`)), 30_000);
    p.child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /"url":"(http:\/\/[^"]+)","webhook"/.exec(seen);
      if (m) { clearTimeout(t); ok(m[1]!); }
    });
  });
}

async function probe(url: string): Promise<{ status: number; body: { problems?: string[] } }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() as never };
}

describe.runIf(run.includes('postgres'))('the PostgreSQL store goes away under `ponte run`', () => {
  it.each(['refuse', 'blackhole', 'freeze'] as CutMode[])('cut (%s) mid-dispatch and mid-poll: stays up, recovers, nothing lost or sent twice', async (mode) => {
    const w = (world = await stopWorld('postgres', { rows: ROWS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY }));
    const cutMs = mode === 'freeze' ? FREEZE_MS : CUT_MS;
    if (mode === 'freeze') {
      const cfg = parse(readFileSync(w.w.configFile, 'utf8')) as { store: Record<string, unknown> };
      cfg.store.queryTimeoutSeconds = STORE_TIMEOUT_S;
      writeFileSync(w.w.configFile, stringify(cfg));
    }
    const pg = new URL(PG_URL);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    // A password in the URL (trust auth ignores it) that must never show in a log line or a probe.
    const viaProxy = new URL(proxy.via(w.storeUrl!));
    viaProxy.password = PASSWORD;
    const p = w.start([], { [STORE_URL_ENV]: viaProxy.toString() });
    const http = await serverUrl(p);

    // Mid-dispatch: some messages out, more in flight (400 ms each, 4 at a time).
    const until = Date.now() + 30_000;
    while (Date.now() < until && w.postsSince(p.spawnAt).length < 10) await sleep(20);
    expect(w.postsSince(p.spawnAt).length, p.tail()).toBeGreaterThanOrEqual(10);
    // Mid-poll: new rows the next poll (every 3 s) reads while the store is away.
    await w.backoffice.add(MORE_ROWS);
    await sleep(150);
    const cutAt = Date.now();
    await proxy.cut(mode);
    // Found within the bound: the dispatcher's claims and outcome writes meet the frozen
    // connections at once (it runs every second), so the bound plus a pass at most, plus the
    // second (CONFIRM_MS) in which another connection's `select 1` must fail before a statement
    // cut at the bound is called an outage rather than a slow statement.
    expect(await p.waitFor(/^store unreachable/, 30_000), p.tail()).toBe(true);
    const detectedMs = Date.now() - cutAt;
    if (mode === 'freeze') expect(detectedMs).toBeLessThan(STORE_TIMEOUT_S * 1000 + CONFIRM_MS + 2_500);
    await sleep(Math.max(0, 4_000 - detectedMs));
    const during = await probe(`${http}/readyz`);
    expect(during.status).toBe(503);
    expect(during.body.problems?.join("\n")).toMatch(/store PostgreSQL 127\.0\.0\.1:\d+\/test \(from \$PONTE_TORTURE_DATABASE_URL\): not reachable/);
    expect((await probe(`${http}/healthz`)).status).toBe(200);
    await sleep(cutMs - (Date.now() - cutAt));
    expect(p.alive(), p.tail()).toBe(true);
    const restoreAt = Date.now();
    await proxy.restore();

    // Recovers by itself: every event stored, every delivery final.
    const total = ROWS + MORE_ROWS;
    const deadline = Date.now() + 40_000;
    let progress = await w.view.progress();
    while (p.alive() && Date.now() < deadline && !(progress.events === total && progress.open === 0)) {
      await sleep(250);
      progress = await w.view.progress();
    }
    expect(progress, p.tail()).toMatchObject({ events: total, open: 0 });
    expect((await probe(`${http}/readyz`)).status).toBe(200);
    expect(p.alive(), p.tail()).toBe(true);

    const v = await w.verdict(new Map());
    console.log(`[store-outage ${mode}] cut ${((restoreAt - cutAt) / 1000).toFixed(1)} s; said unreachable after ${(detectedMs / 1000).toFixed(1)} s; recovered in ${((Date.now() - restoreAt) / 1000).toFixed(1)} s`, JSON.stringify(v), JSON.stringify(progress.states));
    expect(v.violations).toEqual([]);
    expect(v).toMatchObject({ messages: total, processed: total, uncertain: 0, duplicates: 0, lost: 0 });
    // The attempts log kept every send, those of the outage included (`ponte delivery show`).
    const sends = await w.store()('delivery_attempts').where({ kind: 'send' }).count({ n: '*' }).first();
    expect(Number(sends?.n)).toBe(w.postsSince(0).length);
    // Said once, naming the store (not its password), and once when it is back; nothing per delivery.
    const store = /PostgreSQL 127\.0\.0\.1:\d+\/test \(from \$PONTE_TORTURE_DATABASE_URL\)/.source;
    const outage = p.messages.filter((m) => /^store (unreachable|reachable again)/.test(m));
    expect(outage, p.messages.filter((m) => !/^(sent|processed|event stored)/.test(m)).join("\n")).toHaveLength(2);
    expect(outage[0]).toMatch(new RegExp(`^store unreachable: ${store}: `));
    expect(outage[1]).toMatch(new RegExp(`^store reachable again after \\d+(\\.\\d)? s: ${store}$`));
    const noise = p.messages.filter((m) => !/^store /.test(m) && /failed|crashed|could not|unexpected|error/i.test(m));
    expect(noise, 'one line per failing part, pass or delivery').toEqual([]);
    expect(p.tail()).not.toContain(PASSWORD);
    expect(p.tail()).not.toMatch(/\n\s+at /); // no stack trace
  }, 120_000);
});
