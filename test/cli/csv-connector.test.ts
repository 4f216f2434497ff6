// A CSV connector from the command line, as a CED staffer runs it: going live records where the
// exports end, a new night's file is then shown by the dry run (masked) with its bad line named
// by file and line, and a poll stores it once however often the file is read.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, appendFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ponte, scratchWorkdir } from '../helpers/cli.js';

const CF = 'RSSMRA80A01H501U';
const HEADER = 'n_avviso;codice_fiscale;telefono;alunno;scuola;saldo;data_saldo;stato\r\n';

function exportFile(path: string, text: string) {
  writeFileSync(path, Buffer.from(text.replace(/€/g, '\x80'), 'latin1')); // Windows-1252, as the canteen software writes
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(path, past, past);
}

describe('a CSV connector from the command line', () => {
  it('goes live, dry-runs the next file masked with a located bad line, and polls it once', async () => {
    const cwd = scratchWorkdir();
    cpSync('connectors/mensa-scolastica', join(cwd, 'connectors/mensa-scolastica'), { recursive: true });
    mkdirSync(join(cwd, 'data/mensa'), { recursive: true });
    exportFile(join(cwd, 'data/mensa/avvisi-mensa-20261123.csv'), `${HEADER}1;${CF};;Anna;Primaria;-3,00;23/11/2026 20:00;DA_INVIARE\r\n`);
    appendFileSync(join(cwd, 'config/ponte.yaml'), `
  - id: mensa
    use: mensa-scolastica
    schedule: "0 7 * * *"
    deliver:
      - channel: appio
        service: anagrafe
`);
    const live = await ponte(['poll', 'mensa'], { cwd });

    expect(live.code).toBe(0);

    exportFile(join(cwd, 'data/mensa/avvisi-mensa-20261124.csv'), HEADER
      + `2;${CF};347 1234567;Niccolò Rossi;Primaria "G. Verdi";-12,50 €;24/11/2026 20:00;DA_INVIARE\r\n`
      + `3;;;Luca;Primaria;-1,00;24/11/2026 20:00;DA_INVIARE\r\n`);
    const dry = await ponte(['poll', 'mensa', '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Dry run of mensa: 1 event\(s\), 1 cancellation\(s\), 1 row error\(s\)/);
    expect(dry.stdout).toContain('mensa-scolastica:2');
    // The export writes "-12,50 €": the message says it once, the Italian way (it read "-12,50 € euro").
    expect(dry.stdout).toContain('**€ -12,50**');
    expect(dry.stdout).toMatch(/row 3 \(data\/mensa\/avvisi-mensa-20261124\.csv line 3\) field codice_fiscale: missing fiscal code/);
    expect(dry.stdout).not.toContain(CF);

    const first = await ponte(['poll', 'mensa', '--json'], { cwd });
    const again = await ponte(['poll', 'mensa', '--json'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/"eventsNew": ?1/);
    expect(again.stdout).toMatch(/"eventsNew": ?0/);
  }, 120_000);
});
