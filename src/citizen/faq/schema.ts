// The shape of config/faq.yaml. Objects are strict so a misspelt field ("varaints") is named
// rather than silently ignored; checks across fields (duplicate ids, searchable words, synonyms)
// are in check.ts once the shape is right.
import { z } from 'zod';

/**
 * An answer goes out as the body of a reply-button message ("Indietro / Menu"), whose limit is
 * 1024 characters (Meta; see src/citizen/service/limits.ts), links included.
 */
export const ANSWER_MAX = 1024;

const nonEmpty = z.string().trim().min(1, 'must not be empty');

// "expected number, received string" does not say what the number is for.
const number = (what: string) =>
  z.number({ error: (i) => (i.input === undefined ? 'required' : `must be a number (${what}), not ${JSON.stringify(i.input)}`) });

const link = z.strictObject({
  title: nonEmpty.max(60, 'at most 60 characters'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
});

export const entrySchema = z.strictObject({
  id: z.string().regex(/^faq:[a-z0-9][a-z0-9-]{0,62}$/, 'must look like "faq:tari": "faq:", then lower-case letters, digits and -'),
  question: nonEmpty,
  variants: z.array(nonEmpty).min(1, 'needs at least one variant (another way to ask the question)'),
  keywords: z.array(nonEmpty).default([]),
  answer: nonEmpty.refine((s) => s.length <= ANSWER_MAX, {
    error: (i) => `at most ${ANSWER_MAX} characters (a WhatsApp reply-button body; it has ${String(i.input).length})`,
  }),
  links: z.array(link).default([]),
});

export const faqFileSchema = z.strictObject({
  version: z.union([nonEmpty, z.number()], { error: 'must be a string such as "2027-01"' }).transform(String),
  threshold: number('the lowest score that is answered, e.g. 15').positive('must be greater than 0'),
  margin: number('how much the best entry must beat the next one, 0.25 = by 25 %').min(0, 'must be 0 or more'),
  synonyms: z.array(z.array(nonEmpty).min(2, 'a synonym group needs at least 2 words')).default([]),
  stopWords: z.array(nonEmpty).default([]),
  entries: z.array(entrySchema).min(1, 'needs at least one entry'),
});

export type FaqEntry = z.infer<typeof entrySchema>;
export type FaqLink = z.infer<typeof link>;
export type FaqFile = z.infer<typeof faqFileSchema>;
