// What a citizen reads from each shipped declarative connector: its fixture's example row (and
// the forms real back-offices store) mapped and rendered as the runner does, against IO's rules.
import { describe, expect, it } from 'vitest';
import { readDeclarative } from '../../src/connectors/declarative/load.js';
import { dateAlias, rowMapper } from '../../src/connectors/declarative/map-row.js';
import { readFixture } from '../../src/connectors/harness/fixture.js';
import { ioRenderer } from '../../src/app/render.js';
import type { DeliveryContext } from '../../src/channels/channel.js';
import { join } from 'node:path';
import { scaffoldConnector } from '../../src/connectors/harness/scaffold.js';
import { tempDir } from '../helpers/temp-dir.js';
import { parse } from '@textlint/markdown-to-ast';

/** The IO message for connector `name`'s example row with `changes`, its dates at `at` (Rome wall time). */
function message(name: string, changes: Record<string, unknown> = {}, opts: { at?: string; language?: string; cwd?: string } = {}) {
  const dir = join(opts.cwd ?? '.', 'connectors', name);
  const { spec } = readDeclarative(join(dir, 'connector.yaml'));
  const row: Record<string, unknown> = { id: 7, ...readFixture(join(dir, 'fixture.yaml')).row, ...changes };
  for (const n of Object.keys(spec.event.dates)) row[dateAlias(n)] = opts.at ?? '2026-11-30 09:30:00';
  const verdict = rowMapper(spec)(row, '7');
  const event = verdict.events?.[0];
  if (!event) throw new Error(`no event: ${JSON.stringify(verdict)}`);
  const render = ioRenderer((t) => (t === spec.event.type ? { description: '', templates: spec.templates, personalFields: spec.personalFields } : undefined), 'Europe/Rome');
  const ctx = { event: { id: 1, key: event.key, type: event.type, recipient: event.recipient, data: event.data } } as unknown as DeliveryContext;
  return render(ctx, opts.language ?? event.recipient.language);
}

/** Text a citizen should never see: a hole left by an empty field, a code, an artefact. */
function tidy(text: string): string[] {
  const problems: string[] = [];
  if (/undefined|\bnull\b|NaN/.test(text)) problems.push('undefined/null/NaN');
  if (/\S {2,}\S/.test(text)) problems.push('double space');
  if (/\s[,.;:]|\(\s*\)/.test(text)) problems.push('dangling punctuation');
  return problems;
}

describe('scadenze-tari', () => {
  it('writes the amount in euro the Italian way, whatever form the back-office stored', () => {
    for (const importo of ['120.50', '120,50', 120.5, 120.499999]) {
      const m = message('scadenze-tari', { importo });
      expect(m.markdown, String(importo)).toContain('€ 120,50');
      expect(m.markdown).not.toMatch(/120[.,]50? euro|120\.4/);
    }
    expect(message('scadenze-tari', { importo: '1234.5' }, { language: 'en' }).markdown).toContain('€1,234.50');
  });

  it('reads well without the instalment number, and claims no number of days in the subject', () => {
    for (const language of ['it', 'en']) {
      const m = message('scadenze-tari', { rata: null }, { language });
      expect(tidy(m.subject + '\n' + m.markdown), language).toEqual([]);
      // A row registered late is reminded at once: "in a week" would be wrong.
      expect(m.subject).not.toMatch(/settimana|week|giorni|days/i);
      expect(m.markdown).toMatch(language === 'it' ? /scade il \*\*30 novembre 2026\*\*/ : /due on \*\*30 November 2026\*\*/);
    }
  });
});

describe('Italian articles before the 8th and the 11th', () => {
  it("reads l'8 and l'11, never il 8", () => {
    expect(message('scadenze-tari', {}, { at: '2026-12-08 23:59:00' }).markdown).toContain("scade l'**8 dicembre 2026**.");
    expect(message('prenotazioni-sportello', {}, { at: '2026-11-11 09:30:00' }).markdown).toContain("l'**11 novembre 2026** alle **09:30**");
    expect(message('pratiche-edilizie', {}, { at: '2026-12-08 10:00:00' }).markdown).toContain("ha cambiato stato l'8 dicembre 2026:");
    expect(message('mensa-scolastica', {}, { at: '2026-11-11 20:00:00' }).markdown).toContain("l'11 novembre 2026 era di");
  });
});

describe('mensa-scolastica', () => {
  it('writes the balance in euro', () => {
    const m = message('mensa-scolastica');
    expect(m.markdown).toContain('**€ -12,50**');
    expect(tidy(m.markdown)).toEqual([]);
  });

  it("writes a pupil's name stored in capitals, with the accent as an apostrophe, as a name", () => {
    expect(message('mensa-scolastica', { alunno: "ROSSI NICCOLO'" }).markdown).toContain('il credito mensa di **Rossi Niccolò**');
    expect(message('mensa-scolastica').markdown).toContain('il credito mensa di **Niccolò Rossi**');
  });
});

describe('pratiche-edilizie', () => {
  it('says the new status in words, not as the back-office code', () => {
    const m = message('pratiche-edilizie');
    expect(m.markdown).toContain('ora è **in istruttoria**.');
    expect(m.markdown).not.toContain('_');
  });

  // The IO app's own parser: the practice number must read as stored and open nothing.
  it('shows a practice number with markdown characters as written, in bold, and never as a link', () => {
    type Node = { type: string; value?: string; url?: string; children?: Node[] };
    const all = (n: Node): Node[] => [n, ...(n.children ?? []).flatMap(all)];
    for (const number of ['2026_12_001', 'PE*2026*7', '[Paga qui](https://evil.example)', 'https://evil.example', '<b>1</b>']) {
      const m = message('pratiche-edilizie', { numero_pratica: number });
      const nodes = all(parse(m.markdown) as unknown as Node);
      expect(nodes.filter((n) => n.type === 'Strong').map((n) => n.children), number).toEqual([
        [expect.objectContaining({ type: 'Str', value: number })],
        [expect.objectContaining({ type: 'Str', value: 'in istruttoria' })],
      ]);
      expect(nodes.filter((n) => !['Document', 'Paragraph', 'Strong', 'Str'].includes(n.type)), number).toEqual([]);
    }
  });
});

describe('prenotazioni-sportello', () => {
  it('tells the citizen the time of the appointment, in Rome, on both sides of the DST change', () => {
    expect(message('prenotazioni-sportello', {}, { at: '2026-11-30 09:30:00' }).markdown).toMatch(/il \*\*30 novembre 2026\*\* alle \*\*09:30\*\*/);
    expect(message('prenotazioni-sportello', {}, { at: '2026-10-26 00:15:00' }).markdown).toMatch(/il \*\*26 ottobre 2026\*\* alle \*\*00:15\*\*/);
    expect(message('prenotazioni-sportello', {}, { at: '2026-03-30 14:00:00' }).markdown).toMatch(/il \*\*30 marzo 2026\*\* alle \*\*14:00\*\*/);
  });

  it('reads well without the office', () => {
    const m = message('prenotazioni-sportello', { sportello: null });
    expect(m.markdown).toContain('presso lo sportello anagrafe.');
    expect(tidy(m.markdown)).toEqual([]);
  });

  it('reminds only a confirmed booking: one the citizen called off cancels its pending reminder', () => {
    const { spec } = readDeclarative('connectors/prenotazioni-sportello/connector.yaml');
    const row = { id: 7, ...readFixture('connectors/prenotazioni-sportello/fixture.yaml').row, [dateAlias('at')]: '2026-11-30 09:30:00' };
    expect(rowMapper(spec)(row, '7').events).toHaveLength(1);
    for (const stato of ['DISDETTA', 'ANNULLATA', 'NON CONFERMATA']) {
      const v = rowMapper(spec)({ ...row, stato }, '7');
      expect(v.events, stato).toBeUndefined();
      expect(v.cancel, stato).toMatch(/stato is/);
    }
  });
});

describe('what `ponte connector new` writes', () => {
  it.each(['sql', 'csv', 'http'] as const)('says a --%s connector\'s status in words', (kind) => {
    const cwd = tempDir('scaffold-text');
    scaffoldConnector('avvisi', { kind, shape: 'incremental', cwd });
    const m = message('avvisi', { stato: 'IN_LAVORAZIONE' }, { cwd });
    expect(m.markdown).toContain('**in lavorazione**');
  });
});
