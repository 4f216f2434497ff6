// `ponte run` attacked and watched at trace level: citizens write, staff and strangers call its
// endpoints, Meta's webhook is forged. Everything it printed, and what status and deliveries print
// afterwards, is searched for every fiscal code and phone number of the demo back-office (in the
// forms they travel in) and for every secret set in its environment.
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponte, ponteProcess, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';

const SECRETS = {
  IO_KEY_ANAGRAFE: 'io-key-anagrafe-9f8e7d6c5b4a',
  IO_KEY_POLIZIA_LOCALE: 'io-key-polizia-1a2b3c4d5e6f',
  PONTE_HANDOFF_TOKEN: 'handoff-token-77aa88bb99cc',
};
const CITIZEN = '+39 347 765 4321';

/** Every written form of the back-office's fiscal codes and phone numbers, and of the citizen's. */
async function personalData(cwd: string): Promise<string[]> {
  const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/demo-backoffice.sqlite') }, useNullAsDefault: true });
  try {
    const rows = [...await bo('appuntamenti').select('codice_fiscale', 'telefono'), ...await bo('permessi_ztl').select('codice_fiscale', 'telefono')];
    const forms = new Set<string>();
    for (const r of rows) {
      if (r.codice_fiscale) forms.add(String(r.codice_fiscale).toUpperCase()).add(String(r.codice_fiscale).toLowerCase());
      for (const phone of [r.telefono, CITIZEN]) {
        if (!phone) continue;
        const national = String(phone).replace(/\D/g, '').replace(/^39/, '');
        forms.add(national).add(`39${national}`).add(`+39${national}`).add(String(phone));
      }
    }
    return [...forms];
  } finally {
    await bo.destroy();
  }
}

async function processed(cwd: string): Promise<number> {
  const k = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite'), readonly: true } as never, useNullAsDefault: true });
  try {
    if (!(await k.schema.hasTable('deliveries'))) return 0;
    return Number((await k('deliveries').where({ state: 'processed' }).count({ n: '*' }).first())?.n ?? 0);
  } catch {
    return 0;
  } finally {
    await k.destroy();
  }
}

function urlFrom(stdout: string, msg: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.includes(`"msg":"${msg}`)) continue;
    return (JSON.parse(line) as { url: string }).url;
  }
  return undefined;
}

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('ponte run, at trace level, under attack', () => {
  it('prints no fiscal code, phone number or secret, and refuses what is not signed or authorised', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);
    const env = { ...SECRETS, PONTE_LOG_LEVEL: 'trace' };
    const daemon = ponteProcess(['run'], { cwd, env });
    const answers: Record<string, number> = {};
    try {
      let server: string | undefined;
      let sandbox: string | undefined;
      for (let i = 0; i < 300 && !(server && sandbox); i++) {
        await new Promise((r) => setTimeout(r, 100));
        server = urlFrom(daemon.out.stdout, 'HTTP server listening');
        sandbox = urlFrom(daemon.out.stdout, 'WhatsApp sandbox started');
      }
      expect(server && sandbox, daemon.out.stdout + daemon.out.stderr).toBeTruthy();

      // A citizen writes (through the sandbox, signed as Meta would), with their fiscal code in the text.
      for (const text of ['Ciao', 'ISCRIVIMI METEO', 'Il mio codice fiscale è RSSMRA80A01H501U, il mio numero 3477654321', 'OPERATORE', 'I MIEI DATI']) {
        const r = await fetch(`${sandbox}/_sandbox/inbound`, { method: 'POST', body: JSON.stringify({ from: CITIZEN.replace(/ /g, ''), text }) });
        expect(r.status).toBe(200);
      }

      // Forged webhooks: unsigned, signed with the secret a sandbox once used for everyone, and a
      // signed body sent again re-serialised.
      const forged = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '106540352242922' }, messages: [{ from: '393477654321', id: 'wamid.FORGED', timestamp: '1', type: 'text', text: { body: 'STOP' } }] } }] }] });
      const post = async (name: string, headers: Record<string, string>, body = forged) => {
        answers[name] = (await fetch(`${server}/webhooks/whatsapp`, { method: 'POST', headers, body })).status;
      };
      await post('unsigned', {});
      await post('well-known secret', { 'X-Hub-Signature-256': sign('sandbox-app-secret', forged) });
      await post('re-serialised', { 'X-Hub-Signature-256': sign('sandbox-app-secret', forged) }, JSON.stringify(JSON.parse(forged), null, 1));
      answers['verify with the well-known token'] = (await fetch(`${server}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=sandbox-verify-token&hub.challenge=42`)).status;
      for (const [name, auth] of [['staff without token', undefined], ['staff with a wrong token', 'Bearer nope'], ['staff with the token as prefix', `Bearer ${SECRETS.PONTE_HANDOFF_TOKEN}x`]] as const) {
        answers[name] = (await fetch(`${server}/staff/reply`, { method: 'POST', headers: auth ? { Authorization: auth } : {}, body: JSON.stringify({ phone: CITIZEN, text: 'ciao' }) })).status;
      }

      const deadline = Date.now() + 50_000;
      while (Date.now() < deadline && (await processed(cwd)) < 3) await new Promise((r) => setTimeout(r, 300));
      const metrics = await (await fetch(`${server}/metrics`)).text();
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);

      expect(answers).toEqual({
        'unsigned': 401,
        'well-known secret': 401,
        're-serialised': 401,
        'verify with the well-known token': 403,
        'staff without token': 401,
        'staff with a wrong token': 401,
        'staff with the token as prefix': 401,
      });

      const after = await Promise.all([['status'], ['status', '--json'], ['deliveries'], ['deliveries', '--json'], ['delivery', 'show', '1'], ['delivery', 'show', '1', '--json']].map((a) => ponte(a, { cwd, env })));
      const output = [daemon.out.stdout, daemon.out.stderr, metrics, ...after.flatMap((r) => [r.stdout, r.stderr])].join('\n');
      expect(daemon.out.stdout).toContain('"msg":"citizen message handled"'); // it did see the citizen
      expect(output).toContain('RSS************U'); // delivery show says who, masked
      const found = [...await personalData(cwd), ...Object.values(SECRETS)].filter((clear) => output.includes(clear));
      expect(found).toEqual([]);
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  }, 120_000);
});
