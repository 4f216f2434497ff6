// `ponte ref`: what an operator greps the logs for when a citizen calls. Refs are keyed by the
// installation's store, so the ref must be the same in every process of one installation (here:
// two invocations, and the lines a real demo run logged) and differ in another installation.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { DEMO_FISCAL_CODES } from '../../src/demo/backoffice.js';
import { DEMO_CHAT_CITIZEN } from '../../src/demo/conversation.js';

const unkeyed = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

describe('ponte ref', () => {
  it('prints the ref a run of this installation logs, the same in every process, another in another installation', async () => {
    const cwd = scratchWorkdir();
    // A real run first (the demo: IO and WhatsApp through the sandboxes), its debug lines kept.
    const demo = await ponte(['--log-level', 'debug', 'demo'], { cwd });
    expect(demo.code).toBe(0);

    const mario = await ponte(['ref', DEMO_FISCAL_CODES.mario.toLowerCase()], { cwd });
    expect(mario.code).toBe(0);
    const cf = mario.stdout.trim();
    expect(cf).toMatch(/^cf#[0-9a-f]{12}$/);
    expect(cf).not.toBe(`cf#${unkeyed(DEMO_FISCAL_CODES.mario)}`);
    // A local number as the citizen says it, on the phone to the office.
    const chat = await ponte(['ref', '333', '000', '0303'], { cwd }); // unquoted, as typed
    expect(chat.code).toBe(0);
    const tel = chat.stdout.trim();
    expect(tel).toMatch(/^tel#[0-9a-f]{12}$/);
    expect(tel).not.toBe(`tel#${unkeyed(DEMO_CHAT_CITIZEN.slice(1))}`);

    // The demo process logged these citizens under the same refs.
    expect(demo.stdout).toContain(`"fc":"${cf}"`);
    expect(demo.stdout).toContain(`"citizen":"${tel}"`);
    // Another invocation, another process: the same ref.
    expect((await ponte(['ref', `+${DEMO_CHAT_CITIZEN.slice(1)}`], { cwd })).stdout.trim()).toBe(tel);

    // Another installation (its own store, its own secret): another ref for the same number.
    const other = await ponte(['ref', '333 000 0303'], { cwd: scratchWorkdir() });
    expect(other.code).toBe(0);
    expect(other.stdout.trim()).toMatch(/^tel#[0-9a-f]{12}$/);
    expect(other.stdout.trim()).not.toBe(tel);
  }, 120_000);

  it('refuses what is neither a phone number nor a fiscal code, saying which and why, exit 2', async () => {
    const cwd = scratchWorkdir();
    const phone = await ponte(['ref', '12'], { cwd });
    expect(phone.code).toBe(2);
    expect(phone.stdout).toBe('');
    expect(phone.stderr).toMatch(/ponte: ref: "12" is not a valid phone number/);

    // A typo in a fiscal code: named masked, as everything Ponte prints, with the reason.
    const typo = await ponte(['ref', 'RSSMRA85T10A562X'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/not a valid fiscal code: wrong check character: expected S/);
    expect(typo.stderr).not.toContain('RSSMRA85T10A562X');
  }, 60_000);
});
