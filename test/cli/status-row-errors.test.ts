// `ponte status` lists the back-office rows skipped by connector and row key, the order a person
// looks them up in, not the order they were last seen in.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir, seedWorkdirStore } from '../helpers/cli.js';

describe('ponte status: row errors', () => {
  it('are sorted by connector, then row key (numeric keys as numbers)', async () => {
    const cwd = scratchWorkdir();
    const now = Date.now();
    await seedWorkdirStore(cwd, async (knex) => {
      // Last seen in this order, as one poll's connector errors and runner errors are written.
      const rows: Array<[string, string]> = [['tari', '16'], ['tari', '19'], ['ztl', '3'], ['tari', '15'], ['tari', '17'], ['tari', '21'], ['tari', '9']];
      await knex('row_errors').insert(rows.map(([instance_id, row_key], i) => ({
        instance_id, row_key, field: 'codice_fiscale', message: 'missing fiscal code', first_seen: now, last_seen: now - i * 1000, seen: 1,
      })));
    });
    const json = await ponte(['status', '--json'], { cwd });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { rowErrors: Array<{ connector: string; rowKey: string }> };
    expect(report.rowErrors.map((e) => `${e.connector} ${e.rowKey}`)).toEqual(['tari 9', 'tari 15', 'tari 16', 'tari 17', 'tari 19', 'tari 21', 'ztl 3']);
    const text = await ponte(['status'], { cwd });
    expect(text.stdout.split('\n').filter((l) => / row \d+ \[/.test(l)).map((l) => l.trim().split(' [')[0])).toEqual(
      ['tari row 9', 'tari row 15', 'tari row 16', 'tari row 17', 'tari row 19', 'tari row 21', 'ztl row 3'],
    );
  });
});
