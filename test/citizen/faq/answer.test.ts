// Faq.answer: the best entry, confident only above the threshold AND ahead of the best other
// entry by the margin; formatAnswer: the WhatsApp text. On a small FAQ built for the purpose, so
// each rule can be seen to decide.
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatAnswer, parseFaq, type Faq } from '../../../src/citizen/faq/index.js';

const ENTRIES = [
  { id: 'faq:tari', question: 'Quando scade la TARI?', variants: ['Scadenze della tassa rifiuti'], keywords: ['tari'], answer: 'TARI: 16 luglio e 2 dicembre.' },
  { id: 'faq:tari-dichiarazione', question: 'Come si dichiara la TARI per una nuova casa?', variants: ['Iscrizione alla tassa rifiuti'], answer: 'Dichiarazione entro 90 giorni.' },
  { id: 'faq:cimiteri', question: 'Orari dei cimiteri', variants: ['Concessione di un loculo'], keywords: ['loculo'], answer: 'Cimiteri: 8–19.', links: [{ title: 'Cimiteri', url: 'https://example.org/cimiteri' }] },
  { id: 'faq:rifiuti', question: 'Calendario della raccolta differenziata', variants: ['Giorni di ritiro della spazzatura'], answer: 'Umido lunedì e giovedì.' },
];

function faqWith(threshold: number, margin: number, extra: object = {}): Faq {
  return parseFaq(stringify({ version: 1, threshold, margin, entries: ENTRIES, ...extra }), 'test.yaml');
}

describe('Faq.answer', () => {
  it('returns null when no entry shares a word with the message', () => {
    const faq = faqWith(1, 0.25);
    expect(faq.answer('chi ha vinto la partita')).toBeNull();
    expect(faq.answer('grazie mille!')).toBeNull();
    expect(faq.answer('')).toBeNull();
  });

  it('is confident when the best entry is above the threshold and clearly ahead', () => {
    const m = faqWith(1, 0.25).answer('vorrei concessione di un loculo al cimitero');
    expect(m?.entry.id).toBe('faq:cimiteri');
    expect(m?.confident).toBe(true);
    expect(m?.runnerUp).toBeNull();
  });

  it('is not confident below the threshold, whatever the lead', () => {
    const faq = faqWith(1, 0.25);
    const score = faq.answer('loculo')!.score;
    expect(faqWith(score, 0.25).answer('loculo')?.confident).toBe(true);
    const high = faqWith(score * 1.01, 0.25).answer('loculo');
    expect(high?.entry.id).toBe('faq:cimiteri');
    expect(high?.confident).toBe(false);
  });

  it('is not confident when another entry comes within the margin; runnerUp is that entry', () => {
    // "tari" is in both questions (and a keyword of faq:tari); "casa" only in faq:tari-dichiarazione.
    const m = faqWith(0.1, 0.25).answer('tari casa')!;
    expect(m.entry.id).toBe('faq:tari-dichiarazione');
    expect(m.runnerUp?.entry.id).toBe('faq:tari');
    const lead = m.score / m.runnerUp!.score;
    expect(lead).toBeGreaterThan(1);
    expect(lead).toBeLessThan(1.25);
    expect(m.confident).toBe(false);
    // The same scores with a margin the lead clears: confident.
    expect(faqWith(0.1, (lead - 1) * 0.9).answer('tari casa')?.confident).toBe(true);
  });

  it('one word alone is confident only when it is a keyword, inflected; a word sharing its stem is not', () => {
    const faq = faqWith(1, 0.25);
    expect(faq.answer('loculi')).toMatchObject({ entry: { id: 'faq:cimiteri' }, confident: true });
    // "loculare" has the Snowball stem of "loculo" (locul): found, but a guess on its own.
    const alone = faq.answer('loculare')!;
    expect(alone.entry.id).toBe('faq:cimiteri');
    expect(alone.runnerUp).toBeNull();
    expect(alone.confident).toBe(false);
    // With a second word of the entry behind it, the stem is enough.
    expect(faq.answer('loculare al cimitero')).toMatchObject({ entry: { id: 'faq:cimiteri' }, confident: true });
  });

  it('when the runner-up matched the very same words, being ahead is enough: the margin is for rival words', () => {
    // "tari" alone: in faq:tari (question and keyword) and in faq:tari-dichiarazione (question).
    const m = faqWith(0.1, 100).answer('tari')!;
    expect(m.entry.id).toBe('faq:tari');
    expect(m.runnerUp?.entry.id).toBe('faq:tari-dichiarazione');
    expect(m.score).toBeLessThan(m.runnerUp!.score * 101);
    expect(m.confident).toBe(true);
    // "casa" is a word only faq:tari-dichiarazione has: the margin applies again.
    expect(faqWith(0.1, 100).answer('tari casa')?.confident).toBe(false);
  });

  it('a tie between two entries is never confident, even with margin 0', () => {
    const m = faqWith(0.1, 0).answer('tassa rifiuti')!;
    expect(m.score).toBe(m.runnerUp!.score);
    expect(m.confident).toBe(false);
  });

  it('a synonym from the file finds the entry written with the other word', () => {
    const without = faqWith(1, 0.25).answer('immondizia');
    expect(without).toBeNull();
    const faq = faqWith(1, 0.25, { synonyms: [['spazzatura', 'immondizia']] });
    expect(faq.answer('immondizia')?.entry.id).toBe('faq:rifiuti');
  });

  it('tolerates a typo in a long word but not in a short one', () => {
    const faq = faqWith(1, 0.25);
    expect(faq.answer('calendrio')?.entry.id).toBe('faq:rifiuti');
    expect(faq.answer('tary')).toBeNull();
  });

  it('search lists every matching entry, best first', () => {
    const hits = faqWith(1, 0.25).search('tari rifiuti');
    expect(hits.map((h) => h.entry.id).slice(0, 2).sort()).toEqual(['faq:tari', 'faq:tari-dichiarazione']);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
  });
});

describe('formatAnswer', () => {
  it('is the answer alone without links', () => {
    expect(formatAnswer({ answer: 'Umido lunedì e giovedì.', links: [] })).toBe('Umido lunedì e giovedì.');
  });

  it('adds a blank line and one "Title: URL" line per link', () => {
    const faq = faqWith(1, 0.25);
    expect(formatAnswer(faq.get('faq:cimiteri')!)).toBe('Cimiteri: 8–19.\n\nCimiteri: https://example.org/cimiteri');
    expect(formatAnswer({ answer: 'A', links: [{ title: 'Uno', url: 'https://a.example' }, { title: 'Due', url: 'https://b.example' }] }))
      .toBe('A\n\nUno: https://a.example\nDue: https://b.example');
  });
});
