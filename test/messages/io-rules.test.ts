import { describe, expect, it } from 'vitest';
import { checkIoMessage } from '../../src/messages/io-rules.js';

const MD = 'x'.repeat(80);
const SUBJECT = 'Promemoria appuntamento';

describe('checkIoMessage: lengths', () => {
  it('accepts a normal message', () => {
    expect(checkIoMessage({ subject: SUBJECT, markdown: MD })).toEqual([]);
  });

  it.each([
    [9, ['subject is 9 characters long; IO requires 10 to 120 (UTF-16 code units)']],
    [10, []],
    [120, []],
    [121, ['subject is 121 characters long; IO requires 10 to 120 (UTF-16 code units)']],
  ])('subject of %i characters', (n, expected) => {
    expect(checkIoMessage({ subject: 's'.repeat(n), markdown: MD })).toEqual(expected);
  });

  it.each([
    [79, ['markdown is 79 characters long; IO requires 80 to 10000 (UTF-16 code units)']],
    [80, []],
    [10000, []],
    [10001, ['markdown is 10001 characters long; IO requires 80 to 10000 (UTF-16 code units)']],
  ])('markdown of %i characters', (n, expected) => {
    expect(checkIoMessage({ subject: SUBJECT, markdown: 'm'.repeat(n) })).toEqual(expected);
  });

  it('counts UTF-16 code units: an emoji is 2', () => {
    // 8 letters + 1 emoji = 9 code points but 10 code units: IO accepts it.
    expect(checkIoMessage({ subject: 'Scadenza📅', markdown: MD })).toEqual([]);
    // 119 + emoji = 121 units.
    expect(checkIoMessage({ subject: 's'.repeat(119) + '📅', markdown: MD })).toEqual([
      'subject is 121 characters long; IO requires 10 to 120 (UTF-16 code units)',
    ]);
    expect(checkIoMessage({ subject: SUBJECT, markdown: 'm'.repeat(78) + '📅' })).toEqual([]);
    expect(checkIoMessage({ subject: SUBJECT, markdown: 'm'.repeat(77) + '📅' })).toHaveLength(1);
  });

  it('reports every broken rule', () => {
    expect(checkIoMessage({ subject: 'short', markdown: 'short' })).toHaveLength(2);
  });
});

describe('checkIoMessage: no personal data in the subject', () => {
  const check = (subject: string, personalValues?: string[]) =>
    checkIoMessage({ subject, markdown: MD }, personalValues ? { personalValues } : {});

  it('flags a fiscal code, any case, omocodic too, without quoting it', () => {
    for (const s of ['Pratica di RSSMRA85T10A562S', 'pratica rssmra85t10a562s', 'Pratica RSSMRAURTLMALNPY']) {
      const v = check(s);
      expect(v).toEqual(['subject contains a fiscal code: personal data is not allowed in the IO subject (AgID guidelines art. 7.3)']);
    }
    expect(check('Pratica di RSSMRA85T10A562S').join()).not.toContain('RSSMRA');
  });

  it('flags Italian plates, compact or spaced', () => {
    for (const s of ['Multa per AB123CD', 'Multa per AB 123 CD', 'Multa per ab123cd', 'Multa (EZ 987ZZ)']) {
      expect(check(s)).toEqual(['subject contains a vehicle plate: personal data is not allowed in the IO subject (AgID guidelines art. 7.3)']);
    }
  });

  it('flags a phone number in any of its written forms, without quoting it', () => {
    for (const s of ['Ti richiameremo al 333 123 4567', 'Contatto +393331234567', 'Recapito 0039 333 1234567', 'Numero 393331234567', 'Ufficio 06 1234 5678']) {
      expect(check(s)).toEqual(['subject contains a phone number: personal data is not allowed in the IO subject (AgID guidelines art. 7.3)']);
    }
  });

  it('does not take dates, amounts or short numbers for phone numbers', () => {
    for (const s of ['Scadenza del 01-12-2026', 'Rata di 1.250.000 lire', 'Pratica n. 123456 del 2026', 'Appuntamento 2026-12-05 ore 10']) {
      expect(check(s)).toEqual([]);
    }
  });

  it('does not take ordinary words and numbers for plates', () => {
    for (const s of [
      'Tra le 100 ed altre pratiche',
      'Avviso n. 123 del comune',
      'Rinnovo carta identità 2026',
      'Appuntamento ore 10 sala B',
      'Codice AB1234CD non valido',
      'Targa IO123QU assente', // I, O, Q, U never appear on plates
    ]) {
      expect(check(s)).toEqual([]);
    }
  });

  it('flags personal values as whole words, any case, ignoring values under 3 characters', () => {
    const values = ['Mario Rossi', 'Li', 'AB 123 CD'];
    expect(check('Promemoria per MARIO ROSSI', values)).toEqual([
      'subject contains personal value #1 (11 characters): personal data is not allowed in the IO subject (AgID guidelines art. 7.3)',
    ]);
    expect(check('Promemoria per mario  rossi', values)).toHaveLength(1);
    expect(check('Libretto e licenza', values)).toEqual([]);
    expect(check('Opere di Rossini per Mario Rossini', ['Mario Rossi'])).toEqual([]);
    expect(check('Pratica (x+y) chiusa', ['x+y'])).toHaveLength(1);
  });

  // A subject may carry the value through | name or | label, which change case, accents and underscores.
  it('flags a personal value however a filter rewrote it', () => {
    expect(check('Credito mensa di Rossi Niccolò esaurito', ["ROSSI NICCOLO'"])).toHaveLength(1);
    expect(check("Pratica D'Angelo aggiornata", ["D'ANGELO"])).toHaveLength(1);
    expect(check('Pratica pe 2026 0042 aggiornata', ['PE_2026_0042'])).toHaveLength(1);
    expect(check('Credito mensa in esaurimento', ["ROSSI NICCOLO'"])).toEqual([]);
  });

  it('reports each personal value that appears', () => {
    const v = check('Anna: rinnovo per Verdi', ['Anna', 'Verdi', 'Bianchi']);
    expect(v.map((s) => s.slice(0, 35))).toEqual(['subject contains personal value #1 ', 'subject contains personal value #2 ']);
  });
});

describe('checkIoMessage: links and HTML', () => {
  const md = (text: string) => `${text} ${'x'.repeat(80)}`;
  const LINK = 'markdown has a link that is not an absolute https:// address (relative, http:// or empty): it would not open from the IO app';
  const HTML = 'markdown contains an HTML tag: IO does not render HTML, the citizen would see it as text (use **bold**, *italic*, lists)';

  it('accepts https links, IO handled links, mail and phone links, and text that merely has < and >', () => {
    for (const text of [
      'Paga su [pagoPA](https://www.comune.example/pagopa).', 'Vedi <https://www.comune.example/tari>.',
      '[Chiama](iohandledlink://tel:+390612345678)', '[Scrivi](mailto:urp@comune.example)', 'Se il saldo è < 10 euro e > 0',
      'Orari: https://www.comune.example/orari',
    ]) expect(checkIoMessage({ subject: SUBJECT, markdown: md(text) }), text).toEqual([]);
  });

  it('flags relative, http:// and empty links, and HTML tags', () => {
    for (const text of ['[Paga](/pagopa)', '[Paga](http://www.comune.example/pagopa)', '[Paga]()', 'Sito: http://www.comune.example', '<http://x.example>']) {
      expect(checkIoMessage({ subject: SUBJECT, markdown: md(text) }), text).toEqual([LINK]);
    }
    for (const text of ['Ciao,<br>domani', '<b>Attenzione</b>', '<p style="x">Testo</p>']) {
      expect(checkIoMessage({ subject: SUBJECT, markdown: md(text) }), text).toEqual([HTML]);
    }
  });
});
