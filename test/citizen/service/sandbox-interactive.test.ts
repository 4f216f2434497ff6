// The WhatsApp sandbox, over real HTTP, takes what the citizen service sends (interactive lists and
// buttons, images, documents) and refuses what Meta would, naming the field.
import { afterEach, describe, expect, it } from 'vitest';
import { answerMessages } from '../../../src/citizen/service/answer.js';
import { menuInteractive } from '../../../src/citizen/service/interactive.js';
import { loadCitizenService } from '../../../src/citizen/service/load.js';
import { eraseConfirmMenu, profileMenu, topicsMenu } from '../../../src/citizen/service/system-menus.js';
import type { WhatsappSandbox } from '../../../src/sandbox/whatsapp/index.js';
import { PHONE_NUMBER_ID, TOKEN, startReceiver, startSandbox, type Receiver } from '../../channels/whatsapp/helpers.js';
import { FILE } from './helpers.js';

const CITIZEN = '+393471234567';
let sandbox: WhatsappSandbox | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await sandbox?.close();
  await receiver?.close();
  sandbox = receiver = undefined;
});

/** A sandbox where CITIZEN has just written, so the 24 h window is open. */
async function start(): Promise<WhatsappSandbox> {
  receiver = await startReceiver();
  sandbox = await startSandbox({ webhookUrl: receiver.url, statusDelayMs: 10 });
  await sandbox.inbound(CITIZEN, 'ciao');
  return sandbox;
}

async function post(sb: WhatsappSandbox, content: Record<string, unknown>, to = CITIZEN) {
  const res = await fetch(`${sb.url}/v24.0/${PHONE_NUMBER_ID}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to, ...content }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const rows = (n: number, title = (i: number) => `Voce ${i}`) => Array.from({ length: n }, (_, i) => ({ id: `r:${i}`, title: title(i) }));
const list = (sectionRows: Array<Array<{ id: string; title: string; description?: string }>>, over: Record<string, unknown> = {}) => ({
  type: 'interactive',
  interactive: {
    type: 'list',
    body: { text: 'Scegli' },
    action: { button: 'Menu', sections: sectionRows.map((r, i) => ({ title: `Sezione ${i}`, rows: r })) },
    ...over,
  },
});
const buttons = (titles: string[], body = 'Sicuro?') => ({
  type: 'interactive',
  interactive: { type: 'button', body: { text: body }, action: { buttons: titles.map((t, i) => ({ type: 'reply', reply: { id: `b:${i}`, title: t } })) } },
});

describe('interactive messages', () => {
  it('accepts the real home menu as a list, recorded with its ids', async () => {
    const sb = await start();
    const home = loadCitizenService(FILE).service.menus.home!;
    const res = await post(sb, { type: 'interactive', interactive: menuInteractive(home) });
    expect(res.status).toBe(200);
    expect(res.body.messages[0].id).toMatch(/^wamid\./);
    expect(sb.sends).toHaveLength(1);
    expect(sb.sends[0]!.text!.split('\n')).toEqual([
      `[interactive list] ${home.body.split('\n')[0]}`,
      home.body.split('\n')[1],
      ...home.options.map((o) => `${o.id}: ${o.title}`),
    ]);
  });

  it('accepts every menu and answer the real config can produce', async () => {
    const sb = await start();
    const s = loadCitizenService(FILE).service;
    const menus = [
      ...Object.values(s.menus),
      topicsMenu(s.topics, new Set(), s.texts),
      topicsMenu(s.topics, new Set(s.topics.map((t) => t.id)), s.texts),
      ...Object.keys(s.profile!.attributes).map((a) => profileMenu(s.profile!, a, s.texts)),
      eraseConfirmMenu(s.texts),
    ];
    const contents = [
      ...menus.map((m) => ({ type: 'interactive', interactive: menuInteractive(m) })),
      ...Object.entries(s.answers).flatMap(([id, a]) => answerMessages(id, a, s.texts)),
    ];
    for (const content of contents) {
      const res = await post(sb, content);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    expect(sb.sends).toHaveLength(contents.length);
  });

  it('accepts reply buttons with a media header', async () => {
    const sb = await start();
    const content = buttons(['Sì', 'No']);
    (content.interactive as any).header = { type: 'image', image: { link: 'https://www.comune.ponteverde.example/a.png' } };
    expect((await post(sb, content)).status).toBe(200);
  });

  it('refuses an 11-row list and a 25-character row title, naming the field', async () => {
    const sb = await start();
    const eleven = await post(sb, list([rows(11)]));
    expect(eleven.status).toBe(400);
    expect(eleven.body.error).toMatchObject({ code: 100, message: '(#100) Invalid parameter' });
    expect(eleven.body.error.error_data.details).toContain('interactive.action.sections[0].rows: at most 10 rows');

    const split = await post(sb, list([rows(6), rows(5).map((r) => ({ ...r, id: `s:${r.id}` }))]));
    expect(split.status).toBe(400);
    expect(split.body.error.error_data.details).toBe('interactive.action.sections: at most 10 rows over all sections (it has 11)');

    const long = await post(sb, list([rows(3, (i) => (i === 1 ? 'x'.repeat(25) : `Voce ${i}`))]));
    expect(long.status).toBe(400);
    expect(long.body.error.error_data.details).toBe('interactive.action.sections[0].rows[1].title: at most 24 characters');
    expect(sb.sends).toHaveLength(0);
  });

  it.each([
    ['row description > 72', list([[{ id: 'a', title: 'A', description: 'd'.repeat(73) }]]), 'interactive.action.sections[0].rows[0].description: at most 72 characters'],
    ['row id > 200', list([[{ id: 'i'.repeat(201), title: 'A' }]]), 'interactive.action.sections[0].rows[0].id: at most 200 characters'],
    ['repeated row id', list([[{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }]]), 'interactive.action.sections[0].rows[1].id: row id "a" is repeated (must be unique)'],
    ['list button > 20', list([rows(2)], { action: { button: 'b'.repeat(21), sections: [{ rows: rows(2) }] } }), 'interactive.action.button: at most 20 characters'],
    ['header > 60', list([rows(2)], { header: { type: 'text', text: 'h'.repeat(61) } }), 'interactive.header.text: at most 60 characters'],
    ['footer > 60', list([rows(2)], { footer: { text: 'f'.repeat(61) } }), 'interactive.footer.text: at most 60 characters'],
    ['list body > 4096', list([rows(2)], { body: { text: 'x'.repeat(4097) } }), 'interactive.body.text: at most 4096 characters'],
    ['two sections, one untitled', list([rows(2)], { action: { button: 'Menu', sections: [{ title: 'A', rows: rows(1) }, { rows: [{ id: 'z', title: 'Z' }] }] } }), 'interactive.action.sections[1].title: required when there is more than one section'],
    ['4 reply buttons', buttons(['A', 'B', 'C', 'D']), 'interactive.action.buttons: at most 3 reply buttons'],
    ['reply title > 20', buttons(['Sì', 't'.repeat(21)]), 'interactive.action.buttons[1].reply.title: at most 20 characters'],
    ['repeated reply title', buttons(['Sì', 'Sì']), 'interactive.action.buttons[1].reply.title: button title "Sì" is repeated (must be unique)'],
    ['button body > 1024', buttons(['Sì'], 'x'.repeat(1025)), 'interactive.body.text: at most 1024 characters'],
    ['unknown interactive type', { type: 'interactive', interactive: { type: 'carousel', body: { text: 'x' } } }, 'interactive.type: must be "button" or "list"'],
  ])('refuses %s', async (_, content, details) => {
    const sb = await start();
    const res = await post(sb, content);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.error_data.details).toContain(details);
    expect(sb.sends).toHaveLength(0);
  });

  it('is free-form: refused with 131047 outside the 24 h window', async () => {
    const sb = await start();
    const res = await post(sb, buttons(['Sì']), '+393479999999');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(131047);
  });
});

describe('image and document messages', () => {
  it('accepts an image by link and a document by id', async () => {
    const sb = await start();
    const image = await post(sb, { type: 'image', image: { link: 'https://www.comune.ponteverde.example/allerta.png', caption: 'Allerta gialla' } });
    const doc = await post(sb, { type: 'document', document: { id: '1037543291543636', filename: 'calendario.pdf', caption: 'Calendario 2027' } });
    expect([image.status, doc.status]).toEqual([200, 200]);
    expect(sb.sends.map((s) => s.text)).toEqual(['[image] https://www.comune.ponteverde.example/allerta.png Allerta gialla', '[document] 1037543291543636 calendario.pdf']);
  });

  it.each([
    ['image with link and id', { type: 'image', image: { link: 'https://a.example/x.png', id: '123' } }, 100, 'image: needs exactly one of link or id'],
    ['image with neither', { type: 'image', image: { caption: 'x' } }, 100, 'image: needs exactly one of link or id'],
    ['image with a filename', { type: 'image', image: { id: '123', filename: 'x.png' } }, 100, 'image.filename: an image has no filename (documents do)'],
    ['caption > 1024', { type: 'document', document: { id: '123', caption: 'c'.repeat(1025) } }, 100, 'document.caption: at most 1024 characters'],
    ['link not a URL', { type: 'document', document: { link: 'calendario.pdf' } }, 100, 'document.link'],
    ['type image, image object missing', { type: 'image' }, 131008, 'image'],
    ['type image carrying a document', { type: 'image', document: { id: '123' } }, 100, 'type: is "image" but the message carries "document" and no "image" object'],
    ['a type the sandbox does not serve', { type: 'audio', audio: { id: '123' } }, 100, 'type: must be one of "template", "text", "interactive", "image", "document"'],
  ])('refuses %s', async (_, content, code, details) => {
    const sb = await start();
    const res = await post(sb, content);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.error_data.details).toContain(details);
  });
});
