// Back-office values in IO's markdown read as the text they are, checked with the parser the IO
// app uses (@textlint/markdown-to-ast), while the template's own formatting and links stay markup.
import { describe, expect, it } from 'vitest';
import { parse } from '@textlint/markdown-to-ast';
import type { EventTypeSpec } from '../../src/connectors/contract.js';
import { renderMessage } from '../../src/messages/render.js';
import { escapeMarkdown } from '../../src/messages/markdown-escape.js';
import { checkIoMessage } from '../../src/messages/io-rules.js';
import { markdownTemplateProblem } from '../../src/messages/template-check.js';
import { buildTemplate } from '../../src/channels/whatsapp/template.js';

interface Node { type: string; value?: string; url?: string; depth?: number; children?: Node[] }
const nodes = (md: string): Node[] => {
  const out: Node[] = [];
  const walk = (n: Node) => { out.push(n); n.children?.forEach(walk); };
  walk(parse(md) as unknown as Node);
  return out;
};
/** The text a reader sees, and the node types other than plain text. */
const text = (md: string) => nodes(md).filter((n) => n.type === 'Str').map((n) => n.value).join('');
const markup = (md: string) => nodes(md).map((n) => n.type).filter((t) => !['Document', 'Paragraph', 'Str'].includes(t));

const ODD = [
  'DE_ROSSI', 'Via *Roma*', '2026_12_001', '__x__', '# Avviso', '## 5', '1. piano', '12) bis', '+ uno', '- due', '> citazione',
  '---', '===', '***', '[Paga qui](https://evil.example)', '![logo](https://evil.example/x.png)', '[x]: https://evil.example',
  'a `codice`', '```', '<b>grassetto</b>', '<https://evil.example>', 'https://evil.example/paga', 'www.evil.example',
  'mario@evil.example', '&amp; &#169;', '~~barrato~~', 'a | b', 'fine\\', 'C:\\dati\\', '[^1]', 'riga\n# titolo\n    codice',
];

const spec = (markdown: string): EventTypeSpec => ({ description: '', templates: { it: { subject: 'Avviso del Comune {{ v }}', markdown } } });
const md = (template: string, v: unknown) => renderMessage(spec(template), { v }).markdown;

describe('IO markdown: a value reads as the text it is', () => {
  it.each(ODD)('%j on a line of its own is plain text', (v) => {
    const out = md('{{ v }}', v);
    expect(markup(out)).toEqual([]);
    // A value's own line breaks stay (as soft breaks); only indentation that would make code goes.
    expect(text(out)).toBe(v.replace(/\n[ \t]+/g, '\n'));
  });

  it.each(ODD.filter((v) => !v.includes('\n')))('%j in bold, in a list item, after text and as link text keeps the template\'s markup', (v) => {
    const template = 'Pratica **{{ v }}**.\n\n* Numero: {{ v }}\n* {{ v }}\n\n[{{ v }}](https://www.comune.example/pratiche)';
    const all = nodes(md(template, v));
    expect(all.filter((n) => n.type === 'Strong').map((n) => n.children)).toEqual([[expect.objectContaining({ type: 'Str', value: v })]]);
    const items = all.filter((n) => n.type === 'ListItem');
    expect(items.map((i) => i.children?.flatMap((p) => p.children ?? []))).toEqual([
      [expect.objectContaining({ type: 'Str', value: `Numero: ${v}` })],
      [expect.objectContaining({ type: 'Str', value: v })],
    ]);
    const links = all.filter((n) => n.type === 'Link');
    expect(links.map((l) => l.url)).toEqual(['https://www.comune.example/pratiche']);
    expect(links[0]!.children).toEqual([expect.objectContaining({ type: 'Str', value: v })]);
  });

  it('a date, an amount or a plain name is not touched', () => {
    for (const v of ['martedì 24 novembre 2026 alle 10:30', '€ 1.234,50', 'Niccolò Rossi', "D'Angelo", 'PE-2026-0042']) {
      expect(escapeMarkdown(v)).toBe(v);
    }
  });

  it('escapes filter output and default(…) text too: the formatting goes around the {{ }}', () => {
    // German dates read "24. November 2026": at a line's start, an ordered list item numbered 24.
    const de: EventTypeSpec = { description: '', templates: { it: { subject: 'Avviso del Comune', markdown: '{{ d | date }}' } } };
    de.templates.de = de.templates.it!;
    expect(md('{{ v | date }}', '2026-11-24')).toBe('24 novembre 2026');
    const german = renderMessage(de, { d: '2026-11-24' }, 'de').markdown;
    expect([markup(german), text(german)]).toEqual([[], '24. November 2026']);
    const out = renderMessage(spec('Sala: {{ x | default("*da definire*") }} **{{ y | default("n.d.") }}**'), { v: 'x' }).markdown;
    expect(markup(out)).toEqual(['Strong']);
    expect(text(out)).toBe('Sala: *da definire* n.d.');
  });

  it('leaves the subject as written: IO shows it as plain text', () => {
    expect(renderMessage(spec('x'), { v: 'DE_ROSSI [1]' }).subject).toBe('Avviso del Comune DE_ROSSI [1]');
  });

  it('leaves WhatsApp template parameters as written: Meta fills them in as plain text', () => {
    const t = buildTemplate({ template: 't', language: 'it', body: ['{{ v }}'], buttons: [] }, { v: 'DE_ROSSI *1*' }, { timeZone: 'Europe/Rome', eventType: 'x' });
    expect(t.components[0]).toEqual({ type: 'body', parameters: [{ type: 'text', text: 'DE_ROSSI *1*' }] });
  });

  it('a value in a link address still reaches it as written', () => {
    const out = md('[Vedi la pratica](https://www.comune.example/pratiche/{{ v }}?a=(b))', '2026_12_(001)');
    expect(nodes(out).filter((n) => n.type === 'Link').map((n) => n.url)).toEqual(['https://www.comune.example/pratiche/2026_12_(001)?a=(b)']);
  });
});

describe('IO link check: not fooled by a value', () => {
  const check = (markdown: string) => checkIoMessage({ subject: 'Avviso del Comune', markdown: `${markdown} ${'x'.repeat(80)}` });
  const LINK = 'markdown has a link that is not an absolute https:// address (relative, http:// or empty): it would not open from the IO app';
  const HTML = 'markdown contains an HTML tag: IO does not render HTML, the citizen would see it as text (use **bold**, *italic*, lists)';

  it('a value that looks like a tag or an http link is text, not a violation', () => {
    for (const v of ['<b>x</b>', '<br>', 'http://www.comune.example', '<http://x.example>', '[Paga](http://evil.example)', '[Paga]()', '[Paga](/relativo)']) {
      const out = md('Nota dell\'ufficio: {{ v }}', v);
      expect(markup(out), v).toEqual([]);
      expect(check(out), v).toEqual([]);
    }
  });

  it('still checks the template\'s own links, whatever the values', () => {
    expect(check(md('[Paga](http://www.comune.example/{{ v }})', 'x_1'))).toEqual([LINK]);
    expect(check(md('{{ v }} [Paga](/pagopa)', '[ok](https://ok.example)'))).toEqual([LINK]);
    expect(check(md('Ciao,<br>{{ v }}', 'x'))).toEqual([HTML]);
    expect(check(md('[Paga](https://www.comune.example/pagopa/{{ v }})', 'a_b (c)'))).toEqual([]);
  });

  it('checks a link address a value fills in as IO resolves it', () => {
    expect(check(md('[Sito]({{ v }})', 'https://www.comune.example/a_b'))).toEqual([]);
    expect(check(md('[Sito]({{ v }})', 'http://www.comune.example/a_b'))).toEqual([LINK]);
    expect(check(md('[Sito]({{ v }})', 'javascript:alert(1)'))).toEqual([LINK]);
  });
});

describe('markdown templates with a value inside `code`', () => {
  it('are refused: a backslash shows there as it is', () => {
    expect(markdownTemplateProblem('Il codice è `{{ codice }}`.')).toMatch(/inside `code`/);
    expect(markdownTemplateProblem('Il codice è ``a {{ codice }} b``.')).toMatch(/inside `code`/);
  });

  it('are not confused by code spans around it or by escaped backticks', () => {
    expect(markdownTemplateProblem('Scrivi `STOP` per il codice **{{ codice }}** o `INFO`.')).toBeNull();
    expect(markdownTemplateProblem('Un \\` e {{ codice }} e \\`.')).toBeNull();
    expect(markdownTemplateProblem('`a`\n\n{{ codice }}\n\n`b`')).toBeNull();
  });
});
