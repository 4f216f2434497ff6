// How well config/faq.yaml answers what citizens actually write: top-1 accuracy over in-scope
// questions and how many off-topic questions get a confident (wrong) answer. questions.yaml is
// the set the index was adjusted on; questions-holdout.yaml and questions-holdout-2.yaml were
// written afterwards (the second by someone who saw only the entries' ids and main questions) and
// are the honest estimate, so they are held to a lower bar, as is their combined figure.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { loadFaq, type Faq } from '../../../src/citizen/faq/index.js';

const FAQ = loadFaq('config/faq.yaml');

const questionFile = z.strictObject({
  questions: z.array(z.strictObject({ q: z.string().min(1), expect: z.string().nullable() })).min(1),
});

interface Score {
  inScope: number;
  top1: number;
  confidentRight: number;
  confidentWrong: number;
  offTopic: number;
  offTopicConfident: number;
  misses: string[];
}

function score(faq: Faq, file: string): Score {
  const { questions } = questionFile.parse(parse(readFileSync(file, 'utf8')));
  const s: Score = { inScope: 0, top1: 0, confidentRight: 0, confidentWrong: 0, offTopic: 0, offTopicConfident: 0, misses: [] };
  for (const { q, expect: wanted } of questions) {
    const m = faq.answer(q);
    const got = m?.entry.id ?? null;
    if (wanted === null) {
      s.offTopic++;
      if (m?.confident) {
        s.offTopicConfident++;
        s.misses.push(`off-topic answered confidently: "${q}" → ${got}`);
      }
      continue;
    }
    s.inScope++;
    if (got === wanted) s.top1++;
    else s.misses.push(`"${q}" → ${got ?? 'nothing'}${m?.confident ? ' (confident)' : ''}, expected ${wanted}`);
    if (m?.confident) got === wanted ? s.confidentRight++ : s.confidentWrong++;
  }
  return s;
}

function combine(a: Score, b: Score): Score {
  return {
    inScope: a.inScope + b.inScope,
    top1: a.top1 + b.top1,
    confidentRight: a.confidentRight + b.confidentRight,
    confidentWrong: a.confidentWrong + b.confidentWrong,
    offTopic: a.offTopic + b.offTopic,
    offTopicConfident: a.offTopicConfident + b.offTopicConfident,
    misses: [],
  };
}

const pct = (n: number, d: number) => `${n}/${d} = ${((100 * n) / d).toFixed(1)} %`;

function report(title: string, s: Score): void {
  console.log(
    [
      `${title}`,
      `  FAQ top-1 accuracy: ${pct(s.top1, s.inScope)}; off-topic answered confidently: ${s.offTopicConfident}/${s.offTopic}`,
      `  answered confidently: ${s.confidentRight}/${s.inScope} right, ${s.confidentWrong}/${s.inScope} wrong (the rest get topics or an operator)`,
      ...s.misses.map((m) => `  - ${m}`),
    ].join('\n'),
  );
}

function expectedIdsExist(file: string): string[] {
  const { questions } = questionFile.parse(parse(readFileSync(file, 'utf8')));
  return questions.flatMap((q) => (q.expect !== null && !FAQ.get(q.expect) ? [q.expect] : []));
}

describe('FAQ answers to citizen questions', () => {
  it('every expected id in the question sets is an entry of config/faq.yaml', () => {
    expect(expectedIdsExist('test/citizen/faq/questions.yaml')).toEqual([]);
    expect(expectedIdsExist('test/citizen/faq/questions-holdout.yaml')).toEqual([]);
    expect(expectedIdsExist('test/citizen/faq/questions-holdout-2.yaml')).toEqual([]);
  });

  it('questions.yaml: top-1 accuracy ≥ 80 % and at most 1 off-topic question answered confidently', () => {
    const s = score(FAQ, 'test/citizen/faq/questions.yaml');
    report('questions.yaml (tuning set)', s);
    expect(s.inScope).toBeGreaterThanOrEqual(60);
    expect(s.offTopic).toBeGreaterThanOrEqual(8);
    expect(s.top1 / s.inScope).toBeGreaterThanOrEqual(0.8);
    expect(s.offTopicConfident).toBeLessThanOrEqual(1);
  });

  it('questions-holdout.yaml (written after tuning): top-1 accuracy ≥ 75 %', () => {
    const s = score(FAQ, 'test/citizen/faq/questions-holdout.yaml');
    report('questions-holdout.yaml (held out)', s);
    expect(s.top1 / s.inScope).toBeGreaterThanOrEqual(0.75);
  });

  it('questions-holdout-2.yaml (written blind to the variants): top-1 accuracy ≥ 80 %', () => {
    const s = score(FAQ, 'test/citizen/faq/questions-holdout-2.yaml');
    report('questions-holdout-2.yaml (held out, second batch)', s);
    expect(s.inScope).toBeGreaterThanOrEqual(36);
    expect(s.top1 / s.inScope).toBeGreaterThanOrEqual(0.8);
  });

  it('held-out total (questions-holdout.yaml + questions-holdout-2.yaml): ≥ 70 questions, top-1 accuracy ≥ 80 %', () => {
    const s = combine(
      score(FAQ, 'test/citizen/faq/questions-holdout.yaml'),
      score(FAQ, 'test/citizen/faq/questions-holdout-2.yaml'),
    );
    report('held out, combined (questions-holdout.yaml + questions-holdout-2.yaml)', s);
    expect(s.inScope).toBeGreaterThanOrEqual(70);
    expect(s.top1 / s.inScope).toBeGreaterThanOrEqual(0.8);
  });
});
