// The harness writes a Windows-1252 fixture as the export program would: € and typographic quotes
// have their own bytes there (0x80, 0x92), which Node's latin1 would write wrong.
import { describe, expect, it } from 'vitest';
import { windows1252 } from '../../../src/connectors/harness/backoffice.js';

describe('windows1252', () => {
  it('round-trips through the decoder the CSV source reads with', () => {
    const text = 'Niccolò deve 12,50 € all’asilo — “mensa”';
    const bytes = windows1252(text);
    expect(bytes[text.indexOf('€')]).toBe(0x80);
    expect(new TextDecoder('windows-1252').decode(bytes, { stream: true })).toBe(text); // as the CSV source reads
    expect(windows1252('→').toString('latin1')).toBe('?');
  });
});
