// Two `ponte run` on one PostgreSQL store, each with the IO sandbox embedded by its config: each
// talks to a fake IO of its own, so a status poll of a message the other sent gets 404 and the
// delivery ends failed. Both processes say so once they see each other, with what to run instead.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { availableDialects } from '../helpers/databases.js';
import { type PonteProcess } from './ponte-process.js';
import { stopWorld, type StopWorld } from './stop-world.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[embedded-sandbox] skipped: ${skipped.join('; ')} (several instances need a shared PostgreSQL store)`);

let world: StopWorld | undefined;
afterEach(async () => { await world?.close(); world = undefined; });

describe.runIf(run.includes('postgres'))('several processes, each with its embedded IO sandbox', () => {
  it('each warns that the others\' messages cannot be read back through its sandbox, naming `ponte sandbox`', async () => {
    const w = (world = await stopWorld('postgres', { rows: 0, latencyMs: 0, concurrency: 2 }));
    const cfg = parse(readFileSync(w.w.configFile, 'utf8')) as Record<string, unknown>;
    cfg.sandbox = { io: { enabled: true, processingDelayMs: 10 } };
    writeFileSync(w.w.configFile, stringify(cfg));
    const procs: PonteProcess[] = [w.start(), w.start()];
    const warned = /^several Ponte processes share this store, but each runs an IO sandbox of its own .* run one `ponte sandbox --port 8090`/;
    for (const p of procs) expect(await p.waitFor(/^IO limits shared between 2 Ponte process\(es\)$/, 30_000), p.tail()).toBe(true);
    for (const p of procs) expect(await p.waitFor(warned, 1000), p.tail()).toBe(true);
  }, 60_000);
});
