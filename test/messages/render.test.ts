import { describe, expect, it } from 'vitest';
import type { EventTypeSpec } from '../../src/connectors/contract.js';
import { chooseLanguage, primaryLanguage, renderMessage } from '../../src/messages/render.js';
import { TemplateError } from '../../src/messages/template.js';

const spec: EventTypeSpec = {
  description: 'appointment reminder',
  templates: {
    it: {
      subject: 'Promemoria appuntamento {{ office }}',
      markdown: 'Ti ricordiamo l\'appuntamento di **{{ start | datetime }}** presso {{ office }}.',
    },
    en: {
      subject: 'Appointment reminder: {{ office }}',
      markdown: 'Your appointment is on **{{ start | date }}** at {{ start | time }}, {{ office }}.',
    },
  },
};
const data = { office: 'Anagrafe', start: '2026-11-24T09:30:00Z' };

describe('renderMessage', () => {
  it('renders the Italian templates by default', () => {
    expect(renderMessage(spec, data)).toEqual({
      subject: 'Promemoria appuntamento Anagrafe',
      markdown: "Ti ricordiamo l'appuntamento di **martedì 24 novembre 2026 alle 10:30** presso Anagrafe.",
      language: 'it',
    });
  });

  it('uses the requested language with its locale, accepting IO-style codes', () => {
    const m = renderMessage(spec, data, 'en_GB');
    expect(m.language).toBe('en');
    expect(m.subject).toBe('Appointment reminder: Anagrafe');
    expect(m.markdown).toBe('Your appointment is on **24 November 2026** at 10:30, Anagrafe.');
  });

  it('falls back to Italian for languages without templates', () => {
    expect(renderMessage(spec, data, 'de').language).toBe('it');
    expect(renderMessage(spec, data, 'constructor').language).toBe('it');
  });

  it('passes the time zone on', () => {
    expect(renderMessage(spec, data, 'en', { timeZone: 'UTC' }).markdown).toContain('at 09:30');
  });

  it('throws TemplateError naming event type, language, part and variable', () => {
    let error: unknown;
    try {
      renderMessage(spec, { office: 'Anagrafe' }, 'it', { eventType: 'appointment.reminder' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    const e = error as TemplateError;
    expect(e.message).toBe('event type "appointment.reminder", it markdown: template variable "start" is missing');
    expect(e).toMatchObject({ part: 'markdown', variable: 'start', eventType: 'appointment.reminder', language: 'it' });
  });

  it('names the subject part, also without an event type', () => {
    expect(() => renderMessage(spec, { start: data.start }, 'en')).toThrow('en subject: template variable "office" is missing');
  });

  it('reports a broken template (unknown filter) with its part', () => {
    const broken: EventTypeSpec = { templates: { it: { subject: '{{ x | nope }}', markdown: 'x' } } };
    expect(() => renderMessage(broken, { x: 1 }, undefined, { eventType: 't' })).toThrow(
      /^event type "t", it subject: unknown template filter "nope"/,
    );
  });
});

describe('language helpers', () => {
  it('reduces language tags to their primary subtag', () => {
    expect(primaryLanguage('en_GB')).toBe('en');
    expect(primaryLanguage(' DE-de ')).toBe('de');
    expect(chooseLanguage(spec, 'EN')).toBe('en');
    expect(chooseLanguage(spec)).toBe('it');
  });
});

describe('renderMessage: Italian articles before the 8th and the 11th', () => {
  const spec = (markdown: string) => ({ description: '', templates: { it: { subject: 'Promemoria dal Comune', markdown }, en: { subject: 'Reminder from the Comune', markdown } } });
  const md = (markdown: string, due: string, lang = 'it') => renderMessage(spec(markdown), { due }, lang).markdown;

  it('elides il, del, dal, al, nel, sul before a date on the 8th or the 11th, through markdown emphasis', () => {
    expect(md('La rata scade il **{{ due | date }}**.', '2026-12-08')).toBe("La rata scade l'**8 dicembre 2026**.");
    expect(md('Il {{ due | date }} è chiuso.', '2026-11-11')).toBe("L'11 novembre 2026 è chiuso.");
    expect(md('Valido dal {{ due | date }} al {{ due | date }}, come nel {{ due | date }} e sul {{ due | date }} del {{ due | date }}.', '2027-03-08'))
      .toBe("Valido dall'8 marzo 2027 all'8 marzo 2027, come nell'8 marzo 2027 e sull'8 marzo 2027 dell'8 marzo 2027.");
  });

  it('leaves other days, other numbers and other languages alone', () => {
    expect(md('La rata scade il {{ due | date }}.', '2026-12-18')).toBe('La rata scade il 18 dicembre 2026.');
    expect(md('La rata scade il {{ due | date }}.', '2026-12-01')).toBe('La rata scade il 1 dicembre 2026.');
    expect(md('Ne restano il 8 per cento, del {{ due | date }}.', '2026-12-08')).toBe("Ne restano il 8 per cento, dell'8 dicembre 2026.");
    expect(md('Due on the {{ due | date }}.', '2026-12-08', 'en')).toBe('Due on the 8 December 2026.');
  });
});
