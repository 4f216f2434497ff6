// config/faq.yaml: the real file loads and follows its own writing rules; every problem in an
// edited file is reported at once, each line naming the file and the path to fix.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';
import { ConfigError } from '../../../src/config/errors.js';
import { ANSWER_MAX, FaqConfigError, formatAnswer, loadFaq, parseFaq } from '../../../src/citizen/faq/index.js';

const FILE = 'config/faq.yaml';

/** A small valid file; `change` edits a copy before it is written out as YAML. */
function faqYaml(change: (f: any) => void = () => {}): string {
  const f: any = {
    version: '2027-01',
    threshold: 15,
    margin: 0.25,
    entries: [
      { id: 'faq:tari', question: 'Quando scade la TARI?', variants: ['Scadenze della tassa rifiuti', 'Rate della TARI'], answer: 'Il 16 luglio e il 2 dicembre.' },
      { id: 'faq:imu', question: "Quando si paga l'IMU?", variants: ['Scadenze IMU'], keywords: ['f24'], answer: 'Il 16 giugno e il 16 dicembre.', links: [{ title: 'IMU', url: 'https://example.org/imu' }] },
    ],
  };
  change(f);
  return stringify(f);
}

/** The lines of the error thrown for `text`, or [] when it loads. */
function errorsOf(text: string): string[] {
  try {
    parseFaq(text, FILE);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(FaqConfigError);
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n');
  }
}

describe('the real config/faq.yaml', () => {
  const faq = loadFaq(FILE);

  it('loads, with between 30 and 40 entries of 2–5 variants each', () => {
    expect(faq.version).toBe('2027-01');
    expect(faq.threshold).toBe(15);
    expect(faq.margin).toBe(0.25);
    expect(faq.entries.length).toBeGreaterThanOrEqual(30);
    expect(faq.entries.length).toBeLessThanOrEqual(40);
    for (const e of faq.entries) {
      expect(e.id, e.id).toMatch(/^faq:[a-z0-9-]+$/);
      expect(e.variants.length, e.id).toBeGreaterThanOrEqual(2);
      expect(e.variants.length, e.id).toBeLessThanOrEqual(5);
    }
  });

  it('covers the topics of the brief', () => {
    const ids = faq.entries.map((e) => e.id);
    for (const id of ['faq:tari', 'faq:cie', 'faq:certificati', 'faq:residenza', 'faq:ztl', 'faq:mensa', 'faq:trasporto-scolastico', 'faq:asilo-nido', 'faq:imu', 'faq:orari-uffici', 'faq:polizia-locale', 'faq:raccolta-calendario', 'faq:ingombranti', 'faq:servizi-sociali', 'faq:bonus', 'faq:biblioteca', 'faq:segnalazioni-strade', 'faq:pec-protocollo', 'faq:appuntamenti', 'faq:cimiteri', 'faq:matrimonio-civile', 'faq:suap', 'faq:edilizia', 'faq:passo-carrabile', 'faq:suolo-pubblico', 'faq:animali', 'faq:tessera-elettorale']) {
      expect(ids).toContain(id);
    }
  });

  it('every answer fits a reply-button body with its links', () => {
    for (const e of faq.entries) expect(formatAnswer(e).length, e.id).toBeLessThanOrEqual(ANSWER_MAX);
  });

  it('answers a plain question about the TARI with faq:tari, confidently', () => {
    const m = faq.answer('Quando scade la TARI?');
    expect(m?.entry.id).toBe('faq:tari');
    expect(m?.confident).toBe(true);
  });
});

describe('loading errors name the file and the path', () => {
  it('a valid file loads', () => {
    expect(errorsOf(faqYaml())).toEqual([]);
  });

  it('duplicate ids', () => {
    expect(errorsOf(faqYaml((f) => (f.entries[1].id = 'faq:tari')))).toEqual([`${FILE}: entries[1].id: duplicate id "faq:tari" (also entries[0].id)`]);
  });

  it('empty variants: none at all, or an empty one', () => {
    expect(errorsOf(faqYaml((f) => (f.entries[0].variants = []))))
      .toEqual([`${FILE}: entries[0].variants: needs at least one variant (another way to ask the question)`]);
    expect(errorsOf(faqYaml((f) => (f.entries[1].variants = ['Scadenze IMU', '  ']))))
      .toEqual([`${FILE}: entries[1].variants[1]: must not be empty`]);
  });

  it('a variant made only of stop words can never be found', () => {
    expect(errorsOf(faqYaml((f) => (f.entries[0].variants[1] = 'Come si fa?'))))
      .toEqual([`${FILE}: entries[0].variants[1]: "Come si fa?" has no searchable word once stop words are removed`]);
  });

  it('an answer too long, alone or with its links', () => {
    expect(errorsOf(faqYaml((f) => (f.entries[0].answer = 'x'.repeat(1100)))))
      .toEqual([`${FILE}: entries[0].answer: at most 1024 characters (a WhatsApp reply-button body; it has 1100)`]);
    const withLinks = formatAnswer({ answer: 'x'.repeat(1000), links: [{ title: 'IMU', url: 'https://example.org/imu' }] }).length;
    expect(errorsOf(faqYaml((f) => (f.entries[1].answer = 'x'.repeat(1000)))))
      .toEqual([`${FILE}: entries[1].links: the answer with its links has ${withLinks} characters, at most 1024 (a WhatsApp reply-button body)`]);
  });

  it('threshold and margin must be numbers', () => {
    expect(errorsOf(faqYaml((f) => (f.threshold = 'alto'))))
      .toEqual([`${FILE}: threshold: must be a number (the lowest score that is answered, e.g. 15), not "alto"`]);
    expect(errorsOf(faqYaml((f) => delete f.threshold))).toEqual([`${FILE}: threshold: required`]);
    expect(errorsOf(faqYaml((f) => (f.margin = -0.1)))).toEqual([`${FILE}: margin: must be 0 or more`]);
  });

  it('every problem at once, one per line: a misspelt field, a bad id, a bad link', () => {
    expect(
      errorsOf(
        faqYaml((f) => {
          f.entries[0].varaints = f.entries[0].variants;
          f.entries[1].id = 'tari';
          f.entries[1].links[0].url = 'ftp://example.org';
        }),
      ),
    ).toEqual([
      `${FILE}: entries[0]: unknown field(s) "varaints"`,
      `${FILE}: entries[1].id: must look like "faq:tari": "faq:", then lower-case letters, digits and -`,
      `${FILE}: entries[1].links[0].url: must be an http(s) URL`,
    ]);
  });

  it('synonyms: one word each, not a stop word, each stem in one group only', () => {
    expect(
      errorsOf(
        faqYaml((f) => {
          f.synonyms = [['rifiuti', 'spazzatura', 'raccolta differenziata'], ['come', 'quando'], ['immondizia', 'spazzature']];
        }),
      ),
    ).toEqual([
      `${FILE}: synonyms[0][2]: one word only: "raccolta differenziata" has 2`,
      `${FILE}: synonyms[1][0]: "come" is a stop word and is never searched`,
      `${FILE}: synonyms[1][1]: "quando" is a stop word and is never searched`,
      `${FILE}: synonyms[2][1]: "spazzature" is already in synonyms[0] (same stem "spazzatur"); a word belongs to one group`,
    ]);
  });

  it('not YAML, and a file that cannot be read', () => {
    expect(errorsOf('entries: [unclosed')[0]).toMatch(/^config\/faq\.yaml: not valid YAML: /);
    const missing = join(tempDir('faq'), 'faq.yaml');
    expect(() => loadFaq(missing)).toThrow(`${missing}: cannot read the file: ENOENT`);
  });

  it('loadFaq reads a file from disk and reports it by its path', () => {
    const path = join(tempDir('faq'), 'faq.yaml');
    writeFileSync(path, faqYaml((f) => (f.entries[1].id = 'faq:tari')));
    expect(() => loadFaq(path)).toThrow(`${path}: entries[1].id: duplicate id "faq:tari" (also entries[0].id)`);
  });
});
