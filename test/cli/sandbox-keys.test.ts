// `ponte sandbox --keys`: a CED rehearses, from the command line, what IO answers a wrong key (401)
// and a service still in its test phase (403 for anyone not on its list), before going live.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ponte, ponteProcess, scratchWorkdir } from '../helpers/cli.js';
import { fiscalCode, post } from '../sandbox/fixtures.js';

describe('ponte sandbox --keys', () => {
  let stop: (() => void) | undefined;
  afterEach(() => { stop?.(); stop = undefined; });

  it('accepts only the listed keys (401 otherwise) and keeps a test-phase service to its recipients (403)', async () => {
    const cwd = scratchWorkdir();
    const [allowed, other] = [fiscalCode(1), fiscalCode(2)];
    writeFileSync(join(cwd, 'keys.yaml'), [
      'chiave-anagrafe: { service: anagrafe }',
      `chiave-polizia: { service: polizia-locale, authorizedRecipients: [${allowed}] }`,
    ].join('\n'));
    const p = ponteProcess(['sandbox', '--port', '0', '--keys', 'keys.yaml'], { cwd });
    stop = () => p.child.kill('SIGTERM');
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${p.out.stdout}${p.out.stderr}`)), 30_000);
      p.child.stdout.on('data', () => {
        const m = /listening at (\S+)/.exec(p.out.stdout);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
    });
    expect(p.out.stdout).toContain('2 subscription key(s) from keys.yaml: service anagrafe (owner comune); service polizia-locale (owner comune, test phase: 1 allowed recipient(s)); any other key gets 401');
    expect(p.out.stdout).not.toContain(allowed);
    const status = async (key: string, cf: string) => (await post(`${url}/profiles`, { fiscal_code: cf }, key)).status;
    expect(await status('chiave-sbagliata', allowed)).toBe(401);
    expect(await status('chiave-anagrafe', other)).toBe(200);
    expect(await status('chiave-polizia', other)).toBe(403);
    expect(await status('chiave-polizia', allowed)).toBe(200);
  }, 60_000);

  it('a keys file with a slip names the key and the field, exit 2', async () => {
    const cwd = scratchWorkdir();
    writeFileSync(join(cwd, 'keys.yaml'), 'chiave-anagrafe: { servizio: anagrafe }\nchiave-polizia: { service: polizia, authorizedRecipients: [RSSMRA80A01H501X] }\n');
    const r = await ponte(['sandbox', '--port', '0', '--keys', 'keys.yaml'], { cwd });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('keys.yaml: invalid configuration');
    expect(r.stderr).toMatch(/chiave-anagrafe\.service: .*\n.*chiave-anagrafe: .*servizio/);
    expect(r.stderr).toContain('chiave-polizia.authorizedRecipients.0: not a valid fiscal code');
    expect(r.stderr).not.toContain('RSSMRA80A01H501X');
  }, 60_000);
});
