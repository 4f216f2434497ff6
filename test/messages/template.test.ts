import { describe, expect, it } from 'vitest';
import { TemplateError, compileTemplate, renderTemplate } from '../../src/messages/template.js';

function templateError(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error('expected a TemplateError');
}

describe('renderTemplate: variables', () => {
  it('inserts variables and dotted paths, with or without spaces', () => {
    const data = { name: 'Mario', office: { name: 'Anagrafe', floor: 2 }, rooms: ['A1', 'B2'], ok: false };
    expect(renderTemplate('Ciao {{name}}, {{ office.name }} piano {{ office.floor }} {{ rooms.1 }} {{ok}}', data)).toBe(
      'Ciao Mario, Anagrafe piano 2 B2 false',
    );
  });

  it('inserts values literally: no escaping, no recursion', () => {
    const data = { a: '<b>**x**</b> & {{ b }}', b: 'NO' };
    expect(renderTemplate('{{ a }}', data)).toBe('<b>**x**</b> & {{ b }}');
  });

  it('leaves text without tags untouched, including single braces', () => {
    expect(renderTemplate('{ x } }} plain', {})).toBe('{ x } }} plain');
  });

  it('throws a TemplateError naming a missing variable (undefined, null, or missing path)', () => {
    for (const data of [{}, { start: null }, { start: undefined }]) {
      const e = templateError(() => renderTemplate('Il {{ start }}', data));
      expect(e.message).toBe('template variable "start" is missing');
      expect(e.variable).toBe('start');
    }
    const e = templateError(() => renderTemplate('{{ office.name }}', { office: 'x' }));
    expect(e.message).toBe('template variable "office.name" is missing');
  });

  it('does not reach the prototype', () => {
    expect(templateError(() => renderTemplate('{{ constructor }}', {})).variable).toBe('constructor');
    expect(templateError(() => renderTemplate('{{ a.toString }}', { a: {} })).variable).toBe('a.toString');
  });

  it('refuses objects as text', () => {
    expect(() => renderTemplate('{{ office }}', { office: { name: 'x' } })).toThrow(
      'template variable "office" is not a text value',
    );
  });

  it('rejects malformed tags at compile time', () => {
    expect(() => compileTemplate('Ciao {{ name ')).toThrow('unclosed "{{" at character 6');
    expect(() => compileTemplate('{{ }}')).toThrow('expected a variable name');
    expect(() => compileTemplate('{{ a b }}')).toThrow('unexpected "b"');
    expect(() => compileTemplate('{{ a | default }}')).toThrow('default needs a value');
    expect(() => compileTemplate('{{ a | upper("x") }}')).toThrow('filter "upper" takes no argument');
  });

  it('names an unknown filter, before any data is seen', () => {
    const e = templateError(() => compileTemplate('{{ start | fancy }}'));
    expect(e.message).toMatch(/^unknown template filter "fancy"/);
    expect(e.filter).toBe('fancy');
  });

  it('lists the variables a template reads', () => {
    expect(compileTemplate('{{ a }} {{ b.c | upper }} {{ a }}').variables).toEqual(['a', 'b.c']);
  });
});

describe('renderTemplate: filters', () => {
  const start = '2026-11-24T09:30:00.000Z'; // 10:30 in Rome (CET)

  it('formats datetime, date and time in it-IT, Europe/Rome', () => {
    expect(renderTemplate('{{ start | datetime }}', { start })).toBe('martedì 24 novembre 2026 alle 10:30');
    expect(renderTemplate('{{ start | date }}', { start })).toBe('24 novembre 2026');
    expect(renderTemplate('{{ start | time }}', { start })).toBe('10:30');
  });

  it('accepts Date objects and applies summer time', () => {
    expect(renderTemplate('{{ d | datetime }}', { d: new Date('2026-07-01T06:05:00Z') })).toBe('mercoledì 1 luglio 2026 alle 08:05');
  });

  it('honours timeZone and locale', () => {
    expect(renderTemplate('{{ start | time }}', { start }, { timeZone: 'UTC' })).toBe('09:30');
    expect(renderTemplate('{{ start | date }}', { start }, { locale: 'de-DE' })).toBe('24. November 2026');
    expect(renderTemplate('{{ start | datetime }}', { start }, { locale: 'en-GB' })).toMatch(/^Tuesday,? 24 November 2026.*10:30$/);
  });

  it('reads offsets, and wall-clock times without offset in the template time zone', () => {
    expect(renderTemplate('{{ s | time }}', { s: '2026-11-24T10:30:00+02:00' })).toBe('09:30');
    expect(renderTemplate('{{ s | time }}', { s: '2026-11-24T10:30:00-0100' })).toBe('12:30');
    expect(renderTemplate('{{ s | datetime }}', { s: '2026-11-24T10:30' })).toBe('martedì 24 novembre 2026 alle 10:30');
    expect(renderTemplate('{{ s | time }}', { s: '2026-07-01 08:05:00' })).toBe('08:05');
    expect(renderTemplate('{{ s | time }}', { s: '2026-07-01 08:05' }, { timeZone: 'America/New_York' })).toBe('08:05');
  });

  it('treats YYYY-MM-DD as a calendar date in any time zone', () => {
    expect(renderTemplate('{{ d | date }}', { d: '2026-11-24' }, { timeZone: 'America/Los_Angeles' })).toBe('24 novembre 2026');
    expect(renderTemplate('{{ d | date }}', { d: '2026-11-24' }, { timeZone: 'Pacific/Kiritimati' })).toBe('24 novembre 2026');
    expect(() => renderTemplate('{{ d | time }}', { d: '2026-11-24' })).toThrow(
      'template variable "d" is a date without a time of day: use | date',
    );
  });

  it('rejects values that are not dates', () => {
    for (const d of ['tomorrow', '2026-02-30', '2026-11-24T25:00', 1732441200000, new Date('x'), true]) {
      const e = templateError(() => renderTemplate('{{ d | date }}', { d }));
      expect(e.message).toBe('template variable "d" is not a valid date (expected an ISO 8601 string or a Date)');
    }
  });

  it('upper, lower, default and chains', () => {
    const data = { name: 'Niccolò', none: null, empty: '' };
    expect(renderTemplate('{{ name | upper }} {{ name | lower }}', data)).toBe('NICCOLÒ niccolò');
    expect(renderTemplate('{{ missing | default("n.d.") }}|{{ none | default(\'-\') }}|{{ empty | default("x") }}', data)).toBe('n.d.|-|');
    expect(renderTemplate('{{ missing | default("sala \\"A\\"") | upper }}', data)).toBe('SALA "A"');
    expect(renderTemplate('{{ name | default("x") | upper }}', data)).toBe('NICCOLÒ');
    expect(() => renderTemplate('{{ missing | upper | default("x") }}', data)).toThrow('template variable "missing" is missing');
  });

  it('prints a Date without a filter as ISO', () => {
    expect(renderTemplate('{{ d }}', { d: new Date(start) })).toBe(start);
  });
});

describe('renderTemplate: date filters formatted once per minute', () => {
  // Seeded instants, many seconds apart inside the same minutes, around DST changes and far from them:
  // whatever is kept from an earlier call must be what Intl says for this one.
  it('gives exactly what a fresh Intl format gives, in several zones and locales', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const bases = [Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 9, 25, 0, 30), Date.UTC(1901, 5, 1), Date.UTC(2099, 11, 31, 23)];
    for (const [timeZone, locale] of [['Europe/Rome', 'it-IT'], ['America/St_Johns', 'en-GB'], ['Asia/Kathmandu', 'de-DE']] as const) {
      for (let i = 0; i < 400; i++) {
        const at = new Date(bases[i % bases.length]! + Math.floor(random() * 3 * 3_600_000));
        const expected = {
          date: new Intl.DateTimeFormat(locale, { timeZone, day: 'numeric', month: 'long', year: 'numeric' }).format(at),
          time: new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(at),
        };
        const out = renderTemplate('{{ at | date }}|{{ at | time }}', { at: at.toISOString() }, { timeZone, locale });
        expect(out).toBe(`${expected.date}|${expected.time}`);
      }
    }
  });
});

describe('renderTemplate: a date-time without an offset is wall-clock time in the zone', () => {
  const at = (wall: string, zone = 'Europe/Rome') => renderTemplate('{{ t | datetime }}', { t: wall }, { timeZone: zone, locale: 'en-GB' });

  it('summer and winter, and an instant with an offset for comparison', () => {
    expect(at('2026-06-01T10:30')).toBe(renderTemplate('{{ t | datetime }}', { t: '2026-06-01T08:30:00Z' }, { timeZone: 'Europe/Rome', locale: 'en-GB' }));
    expect(at('2026-01-15 10:30:00')).toBe(renderTemplate('{{ t | datetime }}', { t: '2026-01-15T09:30:00Z' }, { timeZone: 'Europe/Rome', locale: 'en-GB' }));
    expect(at('2026-06-01T10:30', 'America/St_Johns')).toBe(renderTemplate('{{ t | datetime }}', { t: '2026-06-01T13:00:00Z' }, { timeZone: 'America/St_Johns', locale: 'en-GB' }));
  });

  it('a time the spring change skips moves forward; one the autumn change repeats is read as the later', () => {
    const time = (wall: string) => renderTemplate('{{ t | time }}', { t: wall }, { timeZone: 'Europe/Rome' });
    expect(time('2026-03-29T02:30')).toBe('03:30');
    // 02:30 on 25 October happens twice in Rome; the later one (CET) is 01:30 UTC.
    expect(renderTemplate('{{ t | datetime }}', { t: '2026-10-25T02:30' }, { timeZone: 'Europe/Rome', locale: 'en-GB' }))
      .toBe(renderTemplate('{{ t | datetime }}', { t: '2026-10-25T01:30:00Z' }, { timeZone: 'Europe/Rome', locale: 'en-GB' }));
  });
});

describe('renderTemplate: euro', () => {
  it('writes amounts the Italian way, rounded to the cent, whatever form the back-office stored', () => {
    // A numeric column (PostgreSQL/MariaDB decimal as text, a float), Italian text, a CSV cell.
    const cases: Array<[unknown, string]> = [
      ['120.50', '€ 120,50'], ['120,50', '€ 120,50'], [1234.5, '€ 1.234,50'], ['1.234,50', '€ 1.234,50'],
      [12.499999, '€ 12,50'], [0.1 + 0.2, '€ 0,30'], [1.005, '€ 1,01'], ['-12,50 €', '€ -12,50'], [-0.001, '€ 0,00'],
      [1234567.891, '€ 1.234.567,89'], [100, '€ 100,00'],
    ];
    for (const [v, text] of cases) expect(renderTemplate('{{ v | euro }}', { v }), String(v)).toBe(text);
  });

  it('uses the locale of the template language elsewhere', () => {
    expect(renderTemplate('{{ v | euro }}', { v: '1234,5' }, { locale: 'en-GB' })).toBe('€1,234.50');
  });

  it('refuses text that is no amount, or could be a thousand times another ("1.234")', () => {
    for (const v of ['boh', '1.234', '120.500', '']) {
      const e = templateError(() => renderTemplate('{{ v | euro }}', { v }));
      expect(e.message, v).toContain('template variable "v" is not an unambiguous amount in euro');
      expect(e.filter).toBe('euro');
    }
  });
});

describe('renderTemplate: name and label (back-office capitals and apostrophe accents)', () => {
  it('name: capitals become a capitalised name, an apostrophe after a final vowel its accent', () => {
    const cases: Array<[string, string]> = [
      ["ROSSI NICCOLO'", 'Rossi Niccolò'], ["D'ANGELO  MARIA", "D'Angelo Maria"], ["DELL'ORTO", "Dell'Orto"],
      ['DE LUCA', 'De Luca'], ["DE' MEDICI LORENZO", "De' Medici Lorenzo"], ['anna-maria bianchi', 'Anna-Maria Bianchi'], ["LUCA' ", 'Lucà'], ['ÉLODIE FAURÉ', 'Élodie Fauré'],
      // The back-office's own mixed-case spelling is kept; only its apostrophe accents are read.
      ['Niccolò Rossi', 'Niccolò Rossi'], ['McEwan', 'McEwan'], ["Niccolo' Rossi", 'Niccolò Rossi'],
    ];
    for (const [v, text] of cases) expect(renderTemplate('{{ v | name }}', { v }), v).toBe(text);
  });

  it('label: a status code becomes words for a sentence', () => {
    const cases: Array<[string, string]> = [
      ['IN_ISTRUTTORIA', 'in istruttoria'], ['ACCOLTA', 'accolta'], ["ATTIVITA' SOSPESA", 'attività sospesa'],
      ['  RICHIESTA__INTEGRAZIONE ', 'richiesta integrazione'], ['In attesa di pagamento', 'In attesa di pagamento'],
    ];
    for (const [v, text] of cases) expect(renderTemplate('{{ v | label }}', { v }), v).toBe(text);
  });
});
