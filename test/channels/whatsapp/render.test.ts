// render(): the routing step's template mapping and the event's data become the Cloud API
// template object; the phone becomes E.164 with "+". No HTTP here.
import { describe, expect, it } from 'vitest';
import { ChannelError } from '../../../src/channels/channel.js';
import { DATA, MAPPING, delivery, makeChannel } from './helpers.js';

const channel = makeChannel('http://127.0.0.1:9');

function renderError(fn: () => unknown): ChannelError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelError);
    return err as ChannelError;
  }
  throw new Error('expected render to throw');
}

describe('render', () => {
  it('builds the template object: body parameters rendered, quick-reply payload, deterministic language', () => {
    expect(channel.render(delivery('+393471234567'))).toEqual({
      language: 'it',
      to: '+393471234567',
      template: {
        name: 'promemoria_appuntamento',
        language: { code: 'it', policy: 'deterministic' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'giovedì 3 dicembre 2026 alle 10:30' },
              { type: 'text', text: 'Anagrafe centrale' },
            ],
          },
          { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'ANNULLA:PRT-42' }] },
        ],
      },
    });
  });

  it('adds a text header and a url button, uses default() and formats dates in the template language', () => {
    const mapping = {
      template: 'permesso_ztl_scadenza',
      language: 'en_US',
      header: 'Permit {{ permit }}',
      body: ['{{ expires | date }}', '{{ office | default("Comune") }}'],
      buttons: [{ type: 'url', index: 1, value: '{{ permit }}' }],
    };
    const message = channel.render(delivery('3471234567', mapping, { permit: 'ZTL-9', expires: '2027-01-31' }));
    expect(message.language).toBe('en_US');
    expect(message.template).toEqual({
      name: 'permesso_ztl_scadenza',
      language: { code: 'en_US', policy: 'deterministic' },
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'Permit ZTL-9' }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'January 31, 2027' },
            { type: 'text', text: 'Comune' },
          ],
        },
        { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'ZTL-9' }] },
      ],
    });
  });

  // The Comune's times, on the 24-hour clock whatever the template's language: Intl's en-US (and
  // a bare "en", which is en-US) wrote "05:30 PM"; a bare "en" formats as IO's English does.
  it('writes times on the 24-hour clock in every template language, and a bare "en" as British English', () => {
    const at = { start: '2026-12-05T16:30:00Z' };
    const body = (language: string) => channel.render(delivery('3471234567', { template: 't', language, body: ['{{ start | datetime }}', '{{ start | time }}'] }, at)).template.components[0];
    expect(body('en')).toEqual({ type: 'body', parameters: [{ type: 'text', text: 'Saturday, 5 December 2026 at 17:30' }, { type: 'text', text: '17:30' }] });
    expect(body('en_US')).toEqual({ type: 'body', parameters: [{ type: 'text', text: 'Saturday, December 5, 2026 at 17:30' }, { type: 'text', text: '17:30' }] });
    expect(body('it')).toEqual({ type: 'body', parameters: [{ type: 'text', text: 'sabato 5 dicembre 2026 alle 17:30' }, { type: 'text', text: '17:30' }] });
  });

  // A bilingual Comune (Alto Adige) keeps each citizen's language in its registry: a template Meta
  // approved in German goes to German speakers in German, dates and all.
  it('sends the citizen\'s language when Meta approved that translation, else the step\'s', () => {
    const at = { start: '2026-12-05T16:30:00Z' };
    const step = { template: 'promemoria', language: 'it', body: ['{{ start | date }}'] };
    const translated = makeChannel('http://127.0.0.1:9', { translations: { promemoria: ['it', 'de', 'en_US'] } });
    const sent = (language: string | undefined, ch = translated) => {
      const m = ch.render(delivery('3471234567', step, at, language ? undefined : {}), language);
      return [m.language, m.template.language.code, (m.template.components[0] as { parameters: Array<{ text: string }> }).parameters[0]!.text];
    };
    expect(sent('de')).toEqual(['de', 'de', '5. Dezember 2026']);
    expect(sent('de-AT')).toEqual(['de', 'de', '5. Dezember 2026']); // same language, the region Meta has
    expect(sent('EN')).toEqual(['en_US', 'en_US', 'December 5, 2026']);
    expect(sent('fr')).toEqual(['it', 'it', '5 dicembre 2026']); // no French translation approved
    expect(sent('it_IT')).toEqual(['it', 'it', '5 dicembre 2026']);
    expect(sent(undefined)).toEqual(['it', 'it', '5 dicembre 2026']);
    // Undeclared translations are not guessed: Meta would refuse them (132001).
    expect(sent('de', channel)).toEqual(['it', 'it', '5 dicembre 2026']);
    // The event's own language when render is not told one (a re-render, the dry run).
    const own = translated.render({ ...delivery('3471234567', step, at), event: { ...delivery('3471234567', step, at).event, recipient: { fiscalCode: 'RSSMRA80A01H501U', phone: '3471234567', language: 'de' } } });
    expect(own.template.language.code).toBe('de');
  });

  it('normalises Italian numbers written in several ways to +39…', () => {
    for (const written of ['347 123 4567', '0039 347 123 4567', '+39 347-123-4567', '+39 (347) 1234567', '3471234567']) {
      expect(channel.render(delivery(written)).to, written).toBe('+393471234567');
    }
    expect(channel.render(delivery('06 1234 5678')).to).toBe('+390612345678');
    expect(channel.render(delivery('+41 44 668 18 00')).to).toBe('+41446681800'); // a Swiss number stays Swiss
  });

  it('refuses a number that cannot be normalised, permanently and without repeating it', () => {
    for (const bad of ['347123', 'not a phone', '+39 12']) {
      const err = renderError(() => channel.render(delivery(bad)));
      expect(err.errorClass).toBe('permanent');
      expect(err.message).toBe('whatsapp: phone number cannot be normalised to E.164');
    }
    expect(renderError(() => channel.render(delivery(undefined))).message).toBe('whatsapp: no phone number');
  });

  it('names a missing template variable and where it is used', () => {
    const { start: _, ...withoutStart } = DATA;
    const err = renderError(() => channel.render(delivery('3471234567', MAPPING, withoutStart)));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('body[0]');
    expect(err.message).toContain('template variable "start" is missing');
  });

  it('names the field of a bad mapping', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...MAPPING, template: undefined }, 'template'],
      [{ ...MAPPING, template: 'Promemoria Appuntamento' }, 'template'],
      [{ ...MAPPING, language: 'italiano' }, 'language'],
      [{ ...MAPPING, body: '{{ start }}' }, 'body'],
      [{ ...MAPPING, buttons: [{ type: 'call', index: 0, value: 'x' }] }, 'buttons.0.type'],
      [{ ...MAPPING, buttons: [{ type: 'url', index: 12, value: 'x' }] }, 'buttons.0.index'],
    ];
    for (const [options, field] of cases) {
      const err = renderError(() => channel.render(delivery('3471234567', options)));
      expect(err.errorClass, field).toBe('permanent');
      expect(err.message, field).toContain(`${field}:`);
      expect(err.message, field).toContain('"appointment.reminder"');
    }
  });

  it('turns new-lines, tabs and long space runs into one space (Meta refuses them in parameters)', () => {
    const mapping = { template: 'avviso', body: ['{{ address }}'] };
    const message = channel.render(delivery('3471234567', mapping, { address: 'Via Roma 1\n00100 Roma\t(RM)      piano 2' }));
    expect(message.template.components).toEqual([{ type: 'body', parameters: [{ type: 'text', text: 'Via Roma 1 00100 Roma (RM) piano 2' }] }]);
  });

  it('refuses a parameter that renders empty', () => {
    const err = renderError(() => channel.render(delivery('3471234567', { template: 'avviso', body: ['{{ note }}'] }, { note: '  ' })));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('body[0] rendered empty');
  });
});

describe('describeSend', () => {
  it('shows the request without the token', () => {
    const ctx = delivery('3471234567');
    const described = channel.describeSend(ctx, channel.render(ctx));
    expect(described.url).toBe('http://127.0.0.1:9/v24.0/106540352242922/messages');
    expect(described.headers.Authorization).toBe('Bearer <from $WHATSAPP_TOKEN>');
    expect(described.body).toMatchObject({ to: '+393471234567', type: 'template', biz_opaque_callback_data: '7' });
    expect(JSON.stringify(described)).not.toContain('EAAG');
  });
});
