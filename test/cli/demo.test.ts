// The newcomer's path: `npm start` (ponte demo) on the embedded default, then `ponte status`.
// The whole run's output is also scanned for personal data in clear.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { DEMO_FISCAL_CODES } from '../../src/demo/backoffice.js';
import { FISCAL_CODE_SHAPE } from '../../src/util/fiscal-code.js';

// A fiscal code standing alone (random ids such as wamids may contain the shape inside a longer token).
const FISCAL_CODE_IN_TEXT = new RegExp(`(?<![A-Za-z0-9])${FISCAL_CODE_SHAPE}(?![A-Za-z0-9])`, 'gi');
// Standing alone too: inside a longer number (a log line's epoch-ms time, 1796301099415 today)
// the digits "301099415" are not a phone number, nor inside a random id (a wamid's base64, which
// the demo prints twice: "364682880" once matched in CI).
const MOBILE_IN_TEXT = /(?<![0-9A-Za-z+/])(?:\+39|0039|39)?[ ]?3\d{2}[ ]?\d{3}[ ]?\d{3,4}(?![0-9A-Za-z+/])/g;

describe('ponte demo (npm start)', () => {
  it('sends the due reminders through the sandbox, and status shows them PROCESSED', async () => {
    const cwd = scratchWorkdir();
    const demo = await ponte(['demo'], { cwd });
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/Demo finished/);

    const status = await ponte(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as { deliveries: Record<string, Record<string, number>>; connectors: { id: string; lastRunStatus: string }[]; rowErrors: unknown[]; fallbacks: { channel: string; state: string; reason: string }[] };
    // 3 reminders due now went out on IO; 1 citizen has no IO app: skipped there, she got it on
    // WhatsApp (she opted in); 2 are for later. The demo chat's weather alert went to its subscriber.
    expect(report.deliveries).toEqual({ appio: { processed: 3, skipped: 1, pending: 2 }, whatsapp: { processed: 2 } });
    expect(report.fallbacks).toEqual([expect.objectContaining({ channel: 'whatsapp', state: 'processed', reason: 'io: no IO profile → whatsapp' })]);
    expect(report.connectors.map((c) => [c.id, c.lastRunStatus])).toEqual([['demo-appuntamenti', 'ok'], ['demo-ztl', 'ok']]);
    expect(report.rowErrors).toHaveLength(3);

    const human = await ponte(['status'], { cwd });
    expect(human.stdout).toMatch(/processed\s+3\s+2/);
    expect(human.stdout).toMatch(/io: no IO profile → whatsapp/);

    // Privacy: no fiscal code or phone number in clear anywhere in what the commands printed.
    const everything = [demo.stdout, demo.stderr, status.stdout, human.stdout].join('\n');
    for (const cf of Object.values(DEMO_FISCAL_CODES)) expect(everything).not.toContain(cf);
    expect(everything.match(FISCAL_CODE_IN_TEXT) ?? []).toEqual([]);
    expect(everything.match(MOBILE_IN_TEXT) ?? []).toEqual([]);
    expect(everything).not.toMatch(/333 000 01/);
  });

  it('dry-run prints the exact IO payloads and touches nothing', async () => {
    const cwd = scratchWorkdir();
    await ponte(['demo'], { cwd });
    const before = await ponte(['status', '--json'], { cwd });
    const dry = await ponte(['poll', 'demo-ztl', '--dry-run', '--json'], { cwd });
    expect(dry.code).toBe(0);
    type Req = { method: string; url: string; headers: Record<string, string>; body: { fiscal_code: string; to: string; content: { subject: string; markdown: string }; template: { name: string } } };
    const report = JSON.parse(dry.stdout) as { events: { key: string; sends: { channel: string; routing: string; request: Req }[] }[] };
    expect(report.events.length).toBeGreaterThan(0);
    // The demo stored them already: a real poll would find them in the ledger and send nothing.
    expect(report.events.every((e) => (e as { alreadyInLedger?: boolean }).alreadyInLedger)).toBe(true);
    // The exact WhatsApp payload next to the IO one, each with its routing rule.
    const [io, wa] = report.events[0]!.sends;
    expect(io).toMatchObject({ channel: 'appio', routing: 'first choice' });
    expect(wa).toMatchObject({ channel: 'whatsapp', routing: 'if appio cannot deliver (not eligible, or rejected)' });
    expect(wa!.request.url).toMatch(/\/v24\.0\/106540352242922\/messages$/);
    expect(wa!.request.headers.Authorization).toBe('Bearer <from $WHATSAPP_TOKEN>');
    expect(wa!.request.body).toMatchObject({ messaging_product: 'whatsapp', type: 'template', template: { name: 'scadenza_permesso_ztl' } });
    expect(wa!.request.body.to).toMatch(/^\+39\*+\d{2}$/); // masked unless --reveal
    const req = io!.request;
    expect(req.method).toBe('POST');
    expect(req.url).toMatch(/\/api\/v1\/messages$/);
    expect(req.body.content.subject.length).toBeGreaterThanOrEqual(10);
    expect(req.body.fiscal_code).toMatch(/\*/); // masked unless --reveal
    const after = await ponte(['status', '--json'], { cwd });
    expect(JSON.parse(after.stdout).deliveries).toEqual(JSON.parse(before.stdout).deliveries);
  });

  it('a broken config exits 2 with the file and field named', async () => {
    const cwd = scratchWorkdir();
    const r = await ponte(['status', '--config', 'config/missing.yaml'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config\/missing\.yaml: invalid configuration\n {2}- cannot read the file: ENOENT/);
  });
});
