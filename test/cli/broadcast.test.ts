// `ponte broadcast` as an operator runs it on the embedded default: a dry run that writes
// nothing, the real create (idempotent by key), list, cancel, and the refusals named.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { openStore } from '../../src/store/db.js';

async function seedSubscribers(cwd: string, n: number) {
  const store = openStore({ client: 'sqlite', filename: join(cwd, 'data/ponte.sqlite') });
  const now = Date.now();
  await store.knex('topic_subscriptions').insert(Array.from({ length: n }, (_, i) => ({ phone: `+39347${String(2_000_000 + i)}`, topic: 'meteo', state: 'subscribed', updated_at: now })));
  await store.knex('citizen_profiles').insert(Array.from({ length: n }, (_, i) => ({ phone: `+39347${String(2_000_000 + i)}`, attributes: JSON.stringify({ area: i % 2 ? 'colle' : 'centro' }), updated_at: now })));
  await store.close();
}

describe('ponte broadcast', () => {
  it('dry run, create, create again, list, cancel; IO and a wrong category refused', async () => {
    const cwd = scratchWorkdir();
    const migrated = await ponte(['migrate'], { cwd }); // creates the store where the config says
    expect(migrated.code).toBe(0);
    await seedSubscribers(cwd, 6);
    const base = ['broadcast', 'create', '--topic', 'meteo', '--template', 'allerta_meteo', '--param', 'Allerta gialla per vento', '--key', 'vento-1', '--at', '2099-01-01T09:00:00+01:00'];

    // One citizen opted out of weather alerts at the office (area colle): recorded with its source.
    const office = await ponte(['consent', 'set', '347 200 0001', 'opt-out', '--topic', 'meteo', '--source', 'sportello URP'], { cwd });
    expect(office.stdout).toMatch(/recorded opt-out of topic meteo/);

    const dry = await ponte([...base, '--segment', 'area=centro', '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Dry run \(nothing written\)/);
    expect(dry.stdout).toMatch(/audience: 3 subscribed citizen\(s\)/);
    expect(dry.stdout).toMatch(/by area: centro 3/);
    expect(dry.stdout).toMatch(/this broadcast will take 1 day/);
    expect(dry.stdout).toContain('"name": "allerta_meteo"');
    expect(dry.stdout).not.toMatch(/\+39347\d{7}/); // no number in clear

    const created = await ponte(base, { cwd });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/broadcast 1: 5 delivery\(ies\) created/);
    const again = await ponte(base, { cwd });
    expect(again.stdout).toMatch(/0 delivery\(ies\) created, 5 already there \(not sent twice\)/);

    const list = await ponte(['broadcast', 'list', '--json'], { cwd });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: 1, key: 'vento-1', topic: 'meteo', status: 'scheduled', audience: 5, deliveries: { pending: 5 } })]);
    const cancel = await ponte(['broadcast', 'cancel', '1'], { cwd });
    expect(cancel.stdout).toMatch(/5 delivery\(ies\) not sent yet were cancelled/);

    const io = await ponte([...base, '--channel', 'appio', '--key', 'io-1'], { cwd });
    expect(io.code).not.toBe(0);
    expect(io.stderr).toMatch(/broadcasts never go to IO/);
    const wrong = await ponte(['broadcast', 'create', '--topic', 'meteo', '--template', 'notizie_comune', '--param', 'x', '--dry-run'], { cwd });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/approved as MARKETING but topic "meteo" is UTILITY/);
  }, 60_000);

  it('inside the quiet hours, the dry run and the create say when the sends really start (the dispatcher\'s rule), in UTC and Rome time', async () => {
    const cwd = scratchWorkdir();
    expect((await ponte(['migrate'], { cwd })).code).toBe(0);
    await seedSubscribers(cwd, 2);
    // 07:34 in Rome, inside the configured quiet hours 21:00–08:00: nothing goes before 08:00.
    const args = ['broadcast', 'create', '--topic', 'meteo', '--template', 'allerta_meteo', '--param', 'Vento forte', '--key', 'alba-1', '--at', '2099-12-05T07:34:00+01:00'];
    const dry = await ponte([...args, '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('all 2 from 2099-12-05T07:00:00.000Z (2099-12-05 08:00 Europe/Rome)');
    expect(dry.stdout).toContain('quiet hours 21:00–08:00 (Europe/Rome) moved the start from 2099-12-05T06:34:00.000Z (2099-12-05 07:34 Europe/Rome)');
    const created = await ponte(args, { cwd });
    expect(created.stdout).toContain('all 2 from 2099-12-05T07:00:00.000Z (2099-12-05 08:00 Europe/Rome)');
    const list = JSON.parse((await ponte(['broadcast', 'list', '--json'], { cwd })).stdout);
    expect(list[0]).toMatchObject({ key: 'alba-1', scheduledAt: '2099-12-05T07:00:00.000Z' });
    // Urgent ones ignore quiet hours, as the dispatcher does.
    const urgent = await ponte([...args, '--key', 'alba-2', '--urgent', '--dry-run'], { cwd });
    expect(urgent.stdout).toContain('all 2 from 2099-12-05T06:34:00.000Z (2099-12-05 07:34 Europe/Rome)');
    expect(urgent.stdout).not.toMatch(/moved the start/);
    for (const r of [dry, created, urgent]) expect(r.stdout).not.toMatch(/\+39347\d{7}/);
  }, 60_000);

  it('list says done once every delivery is final, not the "sending" written at creation', async () => {
    const cwd = scratchWorkdir();
    expect((await ponte(['migrate'], { cwd })).code).toBe(0);
    await seedSubscribers(cwd, 2);
    // Urgent and due now: nothing waits for quiet hours, whatever the hour the test runs at.
    const created = await ponte(['broadcast', 'create', '--topic', 'meteo', '--template', 'allerta_meteo', '--param', 'Vento', '--key', 'ora-1', '--urgent'], { cwd });
    expect(created.code).toBe(0);
    expect(JSON.parse((await ponte(['broadcast', 'list', '--json'], { cwd })).stdout)[0]).toMatchObject({ status: 'sending', deliveries: { pending: 2 } });
    // What the dispatcher leaves behind: one delivered, one the citizen's phone refused.
    const store = openStore({ client: 'sqlite', filename: join(cwd, 'data/ponte.sqlite') });
    const ids = (await store.knex('deliveries').orderBy('id').pluck('id')) as number[];
    await store.knex('deliveries').where({ id: ids[0] }).update({ state: 'processed', finished_at: Date.now() });
    await store.knex('deliveries').where({ id: ids[1] }).update({ state: 'failed', finished_at: Date.now() });
    await store.close();
    const list = await ponte(['broadcast', 'list', '--json'], { cwd });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ key: 'ora-1', status: 'done', deliveries: { processed: 1, failed: 1 } });
    expect((await ponte(['broadcast', 'list'], { cwd })).stdout).toMatch(/^1  ora-1  meteo  done  audience 2 /m);
  }, 60_000);

  it('a broadcast file that is missing or not YAML is named, with what is wrong, and no stack trace', async () => {
    const cwd = scratchWorkdir();
    expect((await ponte(['migrate'], { cwd })).code).toBe(0);
    const missing = await ponte(['broadcast', 'create', '--file', 'allerta.yaml', '--dry-run'], { cwd });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/allerta\.yaml: .*\n.*cannot read the file: ENOENT/);
    writeFileSync(join(cwd, 'allerta.yaml'), 'topic: meteo\ntemplate: [allerta_meteo\n');
    const bad = await ponte(['broadcast', 'create', '--file', 'allerta.yaml', '--dry-run'], { cwd });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/allerta\.yaml: .*\n.*not valid YAML: .*line 3/);
    for (const r of [missing, bad]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
