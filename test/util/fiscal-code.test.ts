import { describe, expect, it } from 'vitest';
import {
  IO_TEST_FISCAL_CODE,
  checkFiscalCode,
  fiscalCodeCheckChar,
  isValidFiscalCode,
  normalizeFiscalCode,
} from '../../src/util/fiscal-code.js';

// Codes published as examples (RSSMRA85T10A562S, MRTMTT25D09F205Z, RSSMRA80A01H501U) and
// codes whose check character was computed by hand with the odd/even tables.
const VALID = [
  'RSSMRA85T10A562S',
  'MRTMTT25D09F205Z',
  'RSSMRA80A01H501U',
  'BNCGNN80A01F205W',
  'VRDLGU72E41H501C', // woman (day + 40)
  'FRRLNZ99H68Z404B', // born abroad (Z code)
];

describe('checkFiscalCode', () => {
  it.each(VALID)('accepts %s', (cf) => {
    expect(checkFiscalCode(cf)).toBeNull();
    expect(isValidFiscalCode(cf)).toBe(true);
  });

  it('accepts omocodic codes (digits replaced by L..V, check char recomputed)', () => {
    expect(checkFiscalCode('RSSMRA85T10A56NH')).toBeNull(); // last digit 2 → N
    expect(checkFiscalCode('RSSMRAURTLMALNPY')).toBeNull(); // every digit replaced
    // The omocodic code with the original check char is wrong.
    expect(checkFiscalCode('RSSMRA85T10A56NS')).toBe('wrong check character: expected H');
  });

  it('accepts lower case and surrounding spaces, normalised', () => {
    expect(checkFiscalCode('  rssmra85t10a562s ')).toBeNull();
    expect(normalizeFiscalCode('  rssmra85t10a562s ')).toBe('RSSMRA85T10A562S');
  });

  it('accepts the IO sandbox code although its check char is not I', () => {
    expect(fiscalCodeCheckChar(IO_TEST_FISCAL_CODE)).toBe('I');
    expect(checkFiscalCode('AAAAAA00A00A000A')).toBeNull();
    expect(checkFiscalCode('AAAAAA00A00A000B')).toBe('wrong check character: expected I');
  });

  it('rejects a wrong check character, naming the expected one', () => {
    expect(checkFiscalCode('RSSMRA85T10A562T')).toBe('wrong check character: expected S');
  });

  it('rejects wrong lengths', () => {
    expect(checkFiscalCode('RSSMRA85T10A562')).toBe('not 16 characters (got 15)');
    expect(checkFiscalCode('RSSMRA85T10A562SX')).toBe('not 16 characters (got 17)');
    expect(checkFiscalCode('')).toBe('not 16 characters (got 0)');
  });

  it('rejects bad formats, naming the 1-based position', () => {
    expect(checkFiscalCode('R5SMRA85T10A562S')).toBe('bad format at position 2: expected a letter');
    expect(checkFiscalCode('RSSMRAA5T10A562S')).toBe('bad format at position 7: expected a digit');
    expect(checkFiscalCode('RSSMRA85Z10A562S')).toMatch(/^bad format at position 9: expected a month letter/);
    expect(checkFiscalCode('RSSMRA85T10A5X2S')).toBe('bad format at position 14: expected a digit');
    expect(checkFiscalCode('RSSMRA85T10A5622')).toBe('bad format at position 16: expected a letter');
    expect(checkFiscalCode('RSSMRA85T10A562-')).toBe('bad format at position 16: expected a letter');
  });

  it('rejects non-strings', () => {
    expect(checkFiscalCode(undefined)).toBe('not a string (got undefined)');
    expect(checkFiscalCode(null)).toBe('not a string (got null)');
    expect(checkFiscalCode(1234567890123456)).toBe('not a string (got number)');
  });
});
