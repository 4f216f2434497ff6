// `ponte consent set` at the counter: it says which number it recorded (masked, so a mistyped
// one shows) and where the current consent can be looked up.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir } from '../helpers/cli.js';

describe('ponte consent set', () => {
  it('echoes the number it understood, masked, with the source', async () => {
    const cwd = scratchWorkdir();
    const r = await ponte(['consent', 'set', '347 123 4567', 'opt-in', '--source', 'sportello URP'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('recorded opt-in for +39********67 (source "sportello URP")');
    const help = await ponte(['consent', '--help'], { cwd });
    expect(help.stdout).toContain('ponte deliveries --citizen <phone>');
  });
});
