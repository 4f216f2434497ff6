// The same word written the ways citizens write it must become the same search term.
import { describe, expect, it } from 'vitest';
import { foldAccents, inflectionStem, keywordTermOf, queryTerms, splitWords, stem, termOf, wordTerms, type Vocabulary } from '../../../src/citizen/faq/normalise.js';

describe('accent folding and splitting', () => {
  it('"perchè", "perché", "perche" and "PERCHÉ" fold to one word', () => {
    expect(new Set(['perchè', 'perché', 'perche', 'PERCHÉ'].map(foldAccents))).toEqual(new Set(['perche']));
  });

  it('folds every Italian accented vowel and decomposed accents alike', () => {
    expect(foldAccents('àèéìòù ÀÈÉÌÒÙ')).toBe('aeeiou aeeiou');
    expect(foldAccents('citta\u0300')).toBe(foldAccents('città'));
  });

  it('splits on apostrophes, punctuation and hyphens, keeping digits', () => {
    expect(splitWords("Dov'è l'ufficio dell'anagrafe?! (e-mail, F24)")).toEqual(['dov', 'e', 'l', 'ufficio', 'dell', 'anagrafe', 'e', 'mail', 'f24']);
  });

  it('every apostrophe citizens type splits an elided word: \' ’ ‘ ` ´ and ʼ (U+02BC)', () => {
    for (const apostrophe of ["'", '\u2019', '\u2018', '`', '\u00B4', '\u02BC']) {
      expect(splitWords(`carta d${apostrophe}identità dell${apostrophe}anagrafe`)).toEqual(['carta', 'd', 'identita', 'dell', 'anagrafe']);
    }
  });
});

describe('stemming and stop words', () => {
  it('"scadenze" and "scadenza" share a stem; so do singular and plural of other words', () => {
    expect(stem('scadenze')).toBe(stem('scadenza'));
    expect(stem('certificati')).toBe(stem('certificato'));
    expect(stem('iscrizioni')).toBe(stem('iscrizione'));
  });

  it('hard-c/g plurals meet their singular ("buca"/"buche", "luogo"/"luoghi")', () => {
    expect(stem('buche')).toBe(stem('buca'));
    expect(stem('luoghi')).toBe(stem('luogo'));
  });

  it('an accented and an unaccented spelling give the same term', () => {
    expect(wordTerms('identità')).toEqual(wordTerms('identita'));
    expect(wordTerms('perchè la tari è scaduta')).toEqual(wordTerms('perche la TARI e scaduta'));
  });

  it('drops function words, greetings and chat shorthand', () => {
    expect(wordTerms('Buongiorno, volevo sapere come si fa per la TARI, grazie')).toEqual([stem('tari')]);
    expect(wordTerms('nn ho capito x la mensa')).toEqual([stem('capito'), stem('mensa')]);
    expect(wordTerms('grazie mille, gentilissimi')).toEqual([]);
  });

  it('keeps numbers whole and drops single letters', () => {
    expect(wordTerms('calendario 2027 zona B')).toEqual([stem('calendario'), '2027', stem('zona')]);
  });
});

describe('inflection stem (how a lone word must match a keyword)', () => {
  it('joins singular and plural, masculine and feminine', () => {
    for (const [a, b] of [['loculo', 'loculi'], ['multa', 'multe'], ['orario', 'orari'], ['buca', 'buche'], ['anziano', 'anziane']]) {
      expect(inflectionStem(a!)).toBe(inflectionStem(b!));
    }
  });

  it('keeps apart the words Snowball joins through a derivation', () => {
    expect(stem('fermiate')).toBe(stem('fermate'));
    expect(inflectionStem('fermiate')).not.toBe(inflectionStem('fermate'));
    expect(inflectionStem('smarrito')).not.toBe(inflectionStem('smarrimento'));
  });

  it('keeps short words and numbers whole; a synonym is its group\'s term', () => {
    expect(['cie', 'imu', 'f24', '2027'].map(inflectionStem)).toEqual(['cie', 'imu', 'f24', '2027']);
    const vocabulary: Vocabulary = {
      synonyms: new Map([[stem('perso'), stem('smarrito')]]),
      synonymWords: new Map([[inflectionStem('perso'), stem('smarrito')], [inflectionStem('smarrito'), stem('smarrito')]]),
      stopWords: new Set(),
    };
    expect(keywordTermOf('persa', vocabulary)).toBe(keywordTermOf('smarriti', vocabulary));
    // Same Snowball stem as a listed word, but not listed: its own keyword term.
    expect(keywordTermOf('smarrimento', vocabulary)).not.toBe(keywordTermOf('smarrito', vocabulary));
    expect(keywordTermOf('della', vocabulary)).toBeNull();
  });
});

describe('vocabulary of a FAQ file', () => {
  const vocabulary: Vocabulary = {
    synonyms: new Map([[stem('spazzatura'), stem('rifiuti')]]),
    stopWords: new Set(['ponteverde']),
  };

  it('a synonym is searched as the first word of its group', () => {
    expect(termOf('spazzatura', vocabulary)).toBe(stem('rifiuti'));
    expect(termOf('spazzatura')).toBe(stem('spazzatura'));
  });

  it("the file's stop words are never searched", () => {
    expect(termOf('ponteverde', vocabulary)).toBeNull();
    expect(termOf('ponteverde')).not.toBeNull();
  });
});

describe('query terms', () => {
  it('adds neighbour pairs across dropped stop words, so "carta di identità" = "carta d\'identità"', () => {
    const pair = `~${stem('carta')}~${stem('identita')}`;
    expect(queryTerms("carta d'identità")).toContain(pair);
    expect(queryTerms('carta di identita')).toEqual(queryTerms("Carta d'Identità"));
  });

  it('counts a repeated word once', () => {
    expect(queryTerms('tari tari TARI')).toEqual([stem('tari'), `~${stem('tari')}~${stem('tari')}`]);
  });
});
