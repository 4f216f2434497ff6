// Menus as Cloud API interactive objects (exact payloads), as lettered plain text, and answers as
// the messages to send.
import { describe, expect, it } from 'vitest';
import { answerMessages } from '../../../src/citizen/service/answer.js';
import { menuInteractive, menuPlainText } from '../../../src/citizen/service/interactive.js';
import { loadCitizenService } from '../../../src/citizen/service/load.js';
import type { Menu, MenuOption } from '../../../src/citizen/service/menu.js';
import { topicsMenu } from '../../../src/citizen/service/system-menus.js';
import { FILE } from './helpers.js';

const option = (id: string, title: string, description?: string): MenuOption => ({
  id,
  title,
  ...(description !== undefined ? { description } : {}),
  keywords: [],
  action: { kind: 'home' },
});

const segnalazioni: Menu = {
  id: 'segnalazioni',
  header: 'Segnalazioni',
  body: 'Cosa vuoi segnalare?',
  footer: 'Per pericoli chiama il 112',
  options: [
    option('segnalazioni:strade', 'Strade e buche', 'ignored by buttons'),
    option('segnalazioni:luce', 'Illuminazione'),
    option('segnalazioni:rifiuti', 'Rifiuti abbandonati'),
  ],
};

const home: Menu = {
  id: 'home',
  header: 'Comune di Ponteverde',
  body: 'Come posso aiutarti?',
  footer: 'Scrivi MENU per tornare qui',
  button: 'Menu',
  options: [
    option('home:info', 'Info e orari uffici', 'Orari, indirizzi, contatti'),
    option('home:anagrafe', 'Anagrafe', "Carta d'identità, certificati"),
    option('home:tributi', 'Tributi'),
    option('home:rifiuti', 'Rifiuti e raccolta'),
    option('home:segnalazioni', 'Segnalazioni'),
    option('home:argomenti', 'Iscrizioni agli avvisi'),
    option('home:privacy', 'Privacy e i miei dati'),
    option('home:emergenze', 'Emergenze'),
    option('home:operatore', 'Parla con un operatore', "Un addetto dell'URP ti risponde qui"),
  ],
};

describe('menuInteractive', () => {
  it('1–3 options: reply buttons, ids = option ids, no descriptions', () => {
    expect(menuInteractive(segnalazioni)).toEqual({
      type: 'button',
      header: { type: 'text', text: 'Segnalazioni' },
      body: { text: 'Cosa vuoi segnalare?' },
      footer: { text: 'Per pericoli chiama il 112' },
      action: {
        buttons: [
          { type: 'reply', reply: { id: 'segnalazioni:strade', title: 'Strade e buche' } },
          { type: 'reply', reply: { id: 'segnalazioni:luce', title: 'Illuminazione' } },
          { type: 'reply', reply: { id: 'segnalazioni:rifiuti', title: 'Rifiuti abbandonati' } },
        ],
      },
    });
  });

  it('4–10 options: a list with one section', () => {
    expect(menuInteractive(home)).toEqual({
      type: 'list',
      header: { type: 'text', text: 'Comune di Ponteverde' },
      body: { text: 'Come posso aiutarti?' },
      footer: { text: 'Scrivi MENU per tornare qui' },
      action: {
        button: 'Menu',
        sections: [
          {
            rows: [
              { id: 'home:info', title: 'Info e orari uffici', description: 'Orari, indirizzi, contatti' },
              { id: 'home:anagrafe', title: 'Anagrafe', description: "Carta d'identità, certificati" },
              { id: 'home:tributi', title: 'Tributi' },
              { id: 'home:rifiuti', title: 'Rifiuti e raccolta' },
              { id: 'home:segnalazioni', title: 'Segnalazioni' },
              { id: 'home:argomenti', title: 'Iscrizioni agli avvisi' },
              { id: 'home:privacy', title: 'Privacy e i miei dati' },
              { id: 'home:emergenze', title: 'Emergenze' },
              { id: 'home:operatore', title: 'Parla con un operatore', description: "Un addetto dell'URP ti risponde qui" },
            ],
          },
        ],
      },
    });
  });

  it('no header or footer keys when the menu has none; a section title when it has one', () => {
    const bare: Menu = { ...home, section: 'Servizi', options: home.options.slice(0, 4) };
    delete bare.header;
    delete bare.footer;
    expect(menuInteractive(bare)).toEqual({
      type: 'list',
      body: { text: 'Come posso aiutarti?' },
      action: { button: 'Menu', sections: [{ title: 'Servizi', rows: home.options.slice(0, 4).map((o) => ({ id: o.id, title: o.title, ...(o.description ? { description: o.description } : {}) })) }] },
    });
    const one = menuInteractive({ id: 'x', body: 'Sicuro?', options: [option('a:yes', 'Sì')] });
    expect(one).toEqual({ type: 'button', body: { text: 'Sicuro?' }, action: { buttons: [{ type: 'reply', reply: { id: 'a:yes', title: 'Sì' } }] } });
  });

  it('refuses a menu no WhatsApp message can show', () => {
    expect(() => menuInteractive({ id: 'vuoto', body: 'x', options: [] })).toThrow('menu "vuoto" has 0 options: a WhatsApp menu shows 1 to 10');
    const eleven = { ...home, options: Array.from({ length: 11 }, (_, i) => option(`o${i}`, `O ${i}`)) };
    expect(() => menuInteractive(eleven)).toThrow('menu "home" has 11 options');
  });

  it('the topics menu shows each topic with the citizen\'s state and routes to subscribe or unsubscribe', () => {
    const { service: s } = loadCitizenService(FILE);
    const menu = topicsMenu(s.topics.slice(0, 4), new Set(['protezione-civile']), s.texts);
    const rows = (menuInteractive(menu) as { action: { sections: Array<{ rows: unknown[] }> } }).action.sections[0]!.rows;
    expect(rows).toEqual([
      { id: 'sys:sub:meteo', title: 'Allerte meteo', description: 'non iscritto – Allerte meteo e idrogeologiche sul territorio' },
      { id: 'sys:unsub:protezione-civile', title: 'Protezione civile', description: '✅ iscritto – Emergenze e istruzioni della protezione civile' },
      { id: 'sys:sub:viabilita', title: 'Strade e interruzioni', description: 'non iscritto – Chiusure di strade, cantieri, acqua e luce sospese' },
      { id: 'sys:sub:notizie', title: 'Notizie dal Comune', description: 'non iscritto – Notizie e comunicati del Comune' },
    ]);
    expect(menu.options.map((o) => o.action)).toEqual([
      { kind: 'subscribe', topic: 'meteo' },
      { kind: 'unsubscribe', topic: 'protezione-civile' },
      { kind: 'subscribe', topic: 'viabilita' },
      { kind: 'subscribe', topic: 'notizie' },
    ]);
  });
});

describe('menuPlainText', () => {
  it('lettered lines, header in bold, footer and prompt last', () => {
    expect(menuPlainText(segnalazioni, 'Rispondi con la lettera.')).toBe(
      [
        '*Segnalazioni*',
        '',
        'Cosa vuoi segnalare?',
        '',
        'A) Strade e buche – ignored by buttons',
        'B) Illuminazione',
        'C) Rifiuti abbandonati',
        '',
        'Per pericoli chiama il 112',
        '',
        'Rispondi con la lettera.',
      ].join('\n'),
    );
  });

  it('nine options run A to I', () => {
    const { header: _h, footer: _f, ...bare } = home;
    const text = menuPlainText(bare);
    expect(text.split('\n').filter((l) => /^[A-J]\) /.test(l)).map((l) => l.slice(0, 2))).toEqual(['A)', 'B)', 'C)', 'D)', 'E)', 'F)', 'G)', 'H)', 'I)']);
    expect(text.startsWith('Come posso aiutarti?\n\nA) Info e orari uffici – Orari, indirizzi, contatti\n')).toBe(true);
  });
});

describe('answerMessages', () => {
  it('a document answer: the document, then the text with back/home buttons', () => {
    const { service: s } = loadCitizenService(FILE);
    expect(answerMessages('calendario-raccolta', s.answers['calendario-raccolta']!, s.texts)).toEqual([
      {
        type: 'document',
        document: { link: 'https://www.comune.ponteverde.example/files/calendario-raccolta-2027.pdf', filename: 'calendario-raccolta-2027.pdf' },
      },
      {
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: s.answers['calendario-raccolta']!.text },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'sys:back', title: 'Indietro' } },
              { type: 'reply', reply: { id: 'sys:home', title: 'Menu principale' } },
            ],
          },
        },
      },
    ]);
  });

  it('an answer without buttons: plain text, links appended, preview on', () => {
    const answer = { text: 'Vedi il sito.', links: [{ title: 'Sito', url: 'https://www.comune.ponteverde.example/' }], buttons: [] };
    expect(answerMessages('x', answer, { back: 'Indietro', home: 'Menu' })).toEqual([
      { type: 'text', text: { body: 'Vedi il sito.\n\nSito: https://www.comune.ponteverde.example/', preview_url: true } },
    ]);
  });
});
