// config/citizen-service.yaml: the real file loads; every Meta limit, duplicate id and dangling
// reference is an error naming the file and the path; unreachable parts are warnings.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { menuProblems } from '../../../src/citizen/service/limits.js';
import { CitizenServiceConfigError, loadCitizenService, parseCitizenService } from '../../../src/citizen/service/load.js';
import { eraseConfirmMenu, profileMenu, topicsMenu } from '../../../src/citizen/service/system-menus.js';
import { FILE, chars, errorsAfter, loadChanged } from './helpers.js';

const E = (line: string) => `${FILE}: ${line}`;

describe('the real config/citizen-service.yaml', () => {
  it('loads without errors or warnings', () => {
    const { service, warnings } = loadCitizenService(FILE);
    expect(warnings).toEqual([]);
    expect(service.menus.home!.options).toHaveLength(9);
    expect(service.idleTimeoutMinutes).toBe(30);
    expect(service.handoff.endpoint).toEqual({ url: 'https://urp.comune.ponteverde.example/api/whatsapp-handoff', tokenEnv: 'PONTE_HANDOFF_TOKEN' });
    expect(service.menus.home!.options[0]).toEqual({
      id: 'home:info',
      title: 'Info e orari uffici',
      description: 'Orari, indirizzi, contatti e appuntamenti',
      keywords: ['orari', 'uffici', 'info'],
      action: { kind: 'menu', menu: 'info' },
    });
    expect(service.menus.home!.options.map((o) => o.action.kind)).toEqual(['menu', 'menu', 'menu', 'menu', 'menu', 'topics', 'menu', 'answer', 'operator']);
  });

  it('has the topics of the brief with Meta categories: safety and disruptions utility, the rest marketing', () => {
    const { service } = loadCitizenService(FILE);
    expect(Object.fromEntries(service.topics.map((t) => [t.id, t.category]))).toEqual({
      meteo: 'utility',
      'protezione-civile': 'utility',
      viabilita: 'utility',
      notizie: 'marketing',
      eventi: 'marketing',
      scadenze: 'marketing',
    });
  });

  it('every menu the bot can show from it is within Meta limits (built menus included)', () => {
    const { service: s } = loadCitizenService(FILE);
    const built = [
      topicsMenu(s.topics, new Set(), s.texts),
      topicsMenu(s.topics, new Set(s.topics.map((t) => t.id)), s.texts),
      ...Object.keys(s.profile!.attributes).map((a) => profileMenu(s.profile!, a, s.texts)),
      eraseConfirmMenu(s.texts),
    ];
    for (const menu of [...Object.values(s.menus), ...built]) expect(menuProblems(menu, [menu.id]), menu.id).toEqual([]);
  });

  it('a missing file is a ConfigError naming it', () => {
    expect(() => loadCitizenService('config/nope.yaml')).toThrow(ConfigError);
    expect(() => loadCitizenService('config/nope.yaml')).toThrow('config/nope.yaml: cannot read the file: ENOENT');
  });
});

describe('Meta limits, named by file and path', () => {
  it('list row title ≤ 24', () => {
    const title = 'Certificati online e altro'.padEnd(27, '!');
    expect(errorsAfter((c) => (c.menus.anagrafe.options[1].title = title))).toEqual([
      E('menus.anagrafe.options[1].title: at most 24 characters for a list row (it has 27)'),
    ]);
  });

  it('list row description ≤ 72', () => {
    expect(errorsAfter((c) => (c.menus.info.options[0].description = chars(73)))).toEqual([
      E('menus.info.options[0].description: at most 72 characters for a list row description (it has 73)'),
    ]);
  });

  it('at most 10 options (rows) in a menu', () => {
    const errors = errorsAfter((c) => {
      for (let i = 0; i < 7; i++) c.menus.info.options.push({ id: `info:extra${i}`, title: `Extra ${i}`, action: 'home' });
    });
    expect(errors).toEqual([E('menus.info.options: at most 10 options (a WhatsApp list holds 10 rows; it has 11)')]);
  });

  it('list button ≤ 20, and required for 4+ options', () => {
    expect(errorsAfter((c) => (c.menus.info.button = chars(21)))).toEqual([E('menus.info.button: at most 20 characters for a list button (it has 21)')]);
    expect(errorsAfter((c) => delete c.menus.info.button)).toEqual([
      E('menus.info.button: required: a menu of 4 options is shown as a list, whose button needs a label'),
    ]);
  });

  it('body ≤ 4096 for a list, ≤ 1024 for reply buttons', () => {
    expect(errorsAfter((c) => (c.menus.info.body = chars(4097)))).toEqual([E('menus.info.body: at most 4096 characters for a message body (it has 4097)')]);
    expect(errorsAfter((c) => (c.menus.segnalazioni.body = chars(1025)))).toEqual([
      E('menus.segnalazioni.body: at most 1024 characters for the body of a menu of 3 option(s), shown as reply buttons (it has 1025)'),
    ]);
    expect(() => loadChanged((c) => (c.menus.info.body = chars(4096)))).not.toThrow();
    expect(() => loadChanged((c) => (c.menus.segnalazioni.body = chars(1024)))).not.toThrow();
  });

  it('header and footer ≤ 60', () => {
    expect(
      errorsAfter((c) => {
        c.menus.home.header = chars(61);
        c.menus.home.footer = chars(62);
      }),
    ).toEqual([E('menus.home.header: at most 60 characters for a header (it has 61)'), E('menus.home.footer: at most 60 characters for a footer (it has 62)')]);
  });

  it('reply button title ≤ 20: the same title fits a list row but not a button', () => {
    const title = 'Prenota appuntamento'.padEnd(22, '!');
    expect(() => loadChanged((c) => (c.menus.info.options[2].title = title))).not.toThrow();
    expect(
      errorsAfter((c) => {
        c.menus.info.options[2].title = title;
        c.menus.info.options.pop(); // 3 options left: shown as buttons
      }),
    ).toEqual([E('menus.info.options[2].title: at most 20 characters for a reply button (it has 22)')]);
  });

  it('titles unique in a menu (case and accents ignored), keywords too', () => {
    expect(errorsAfter((c) => (c.menus.segnalazioni.options[2].title = 'ILLUMINAZIONÈ'))).toEqual([
      E('menus.segnalazioni.options[2].title: "ILLUMINAZIONÈ" already names options[1] of this menu (titles and keywords must be unique in a menu)'),
    ]);
    expect(errorsAfter((c) => (c.menus.home.options[1].keywords = ['Orari']))).toEqual([
      E('menus.home.options[1].keywords[0]: "Orari" already names options[0] of this menu (titles and keywords must be unique in a menu)'),
    ]);
  });

  it('a title or keyword that reads as a letter or number choice', () => {
    expect(errorsAfter((c) => (c.menus.home.options[0].keywords = ['b']))).toEqual([E('menus.home.options[0].keywords[0]: "b" would be read as a letter or number choice')]);
  });

  it('option id ≤ 200 and not in the reserved sys: space', () => {
    expect(errorsAfter((c) => (c.menus.info.options[0].id = `info:${chars(196)}`))).toEqual([
      E('menus.info.options[0].id: at most 200 characters for an option id (it has 201)'),
    ]);
    expect(errorsAfter((c) => (c.menus.info.options[0].id = 'sys:home'))).toEqual([
      E('menus.info.options[0].id: ids starting with "sys:" are reserved for menus the bot builds'),
    ]);
  });

  it('built menus: a topic title too long for the topics list, a description too long with its state', () => {
    expect(errorsAfter((c) => (c.topics[0].title = 'Allerte meteo e idrogeologiche'))).toEqual([
      E('topics[0].title: at most 24 characters for a list row (it has 30)'),
    ]);
    expect(errorsAfter((c) => (c.topics[1].description = chars(60)))).toEqual([
      E('topics[1].description: at most 72 characters for a list row description (it has 75), with the state "non iscritto – " in front in the topics menu'),
    ]);
  });

  it('built menus: a profile question with 10 options (11 with "rather not say")', () => {
    const errors = errorsAfter((c) => {
      c.profile.attributes.area.options = Array.from({ length: 10 }, (_, i) => ({ id: `zona-${i}`, title: `Zona ${i}` }));
    });
    expect(errors).toEqual([
      E('profile.attributes.area.options: at most 10 options (a WhatsApp list holds 10 rows; it has 11), counting the "Preferisco non dirlo" option the bot adds'),
    ]);
  });

  it('texts shown as reply buttons ≤ 20', () => {
    expect(errorsAfter((c) => (c.texts.back = 'Torna al menu precedente'))).toEqual([E('texts.back: at most 20 characters for a reply button (it has 24)')]);
    expect(errorsAfter((c) => (c.texts.eraseNo = 'sì, cancella!'))).toEqual([
      E('texts.eraseNo: "sì, cancella!" already names texts.eraseYes (the two are buttons of one message)'),
    ]);
  });

  it('an answer ≤ 4096 with its links, ≤ 1024 when it has buttons', () => {
    expect(errorsAfter((c) => (c.answers.orari.text = chars(1000)))).toEqual([
      E('answers.orari.text: at most 1024 characters for an answer with buttons (the body of reply buttons, links included) (it has 1064)'),
    ]);
    expect(
      errorsAfter((c) => {
        c.answers.orari.text = chars(4090);
        c.answers.orari.buttons = [];
      }),
    ).toEqual([E('answers.orari.text: at most 4096 characters for a message, links included (it has 4154)')]);
  });
});

describe('ids and references', () => {
  it('option ids unique in the file', () => {
    expect(errorsAfter((c) => (c.menus.anagrafe.options[0].id = 'info:orari'))).toEqual([
      E('menus.anagrafe.options[0].id: "info:orari" is also the id of menus.info.options[0] (option ids must be unique in the file)'),
    ]);
  });

  it("a topic keyword that is another topic's title (both are typed in the topics menu)", () => {
    expect(errorsAfter((c) => (c.topics[2].keyword = 'Protezione civile'))).toEqual([
      E('topics[2].keyword: "Protezione civile" already names topics[1] in the topics menu'),
    ]);
  });

  it('topic ids and keywords unique, entry keywords unique', () => {
    expect(
      errorsAfter((c) => {
        c.topics[1].id = 'meteo';
        c.topics[2].keyword = 'Metèo';
        c.entryKeywords.push('CIAO');
      }),
    ).toEqual([
      E('entryKeywords[7]: "CIAO" repeats the entry keyword "ciao" (case and accents do not count)'),
      E('topics[1].id: "meteo" is also the id of topics[0]'),
      E('topics[2].keyword: "Metèo" repeats the topic keyword "METEO" (case and accents do not count)'),
    ]);
  });

  it('a dangling menu, answer or topic reference names itself and what exists', () => {
    const errors = errorsAfter((c) => {
      c.menus.home.options[1].action = { menu: 'servizi' };
      c.menus.info.options[0].action = { answer: 'orario' };
      c.menus.tributi.options[3].action = { subscribe: 'tasse' };
      c.menus.privacy.options[1].action = 'unsubscribe: meteo-locale';
    });
    expect(errors).toEqual([
      E('menus.home.options[1].action: menu "servizi" does not exist (menus: home, info, anagrafe, tributi, rifiuti, segnalazioni, privacy)'),
      E(
        'menus.info.options[0].action: answer "orario" does not exist (answers: orari, contatti, appuntamenti, cie, certificati, residenza, tari, imu, pagopa, calendario-raccolta, centro-raccolta, ingombranti, segnala-strade, segnala-luce, segnala-rifiuti, emergenze)',
      ),
      E('menus.tributi.options[3].action: topic "tasse" does not exist (topics: meteo, protezione-civile, viabilita, notizie, eventi, scadenze)'),
      E('menus.privacy.options[1].action: topic "meteo-locale" does not exist (topics: meteo, protezione-civile, viabilita, notizie, eventi, scadenze)'),
    ]);
  });

  it('a home menu must exist', () => {
    const errors = errorsAfter((c) => {
      c.menus.inizio = c.menus.home;
      delete c.menus.home;
    });
    expect(errors).toEqual([E('menus: needs a menu with id "home", the first one shown (menus: info, anagrafe, tributi, rifiuti, segnalazioni, privacy, inizio)')]);
  });

  it('topics / profile actions need topics / a profile', () => {
    expect(errorsAfter((c) => delete c.profile)).toEqual([E('menus.privacy.options[2].action: there is no profile: section to ask about')]);
  });

  it('unknown or malformed actions', () => {
    expect(
      errorsAfter((c) => {
        c.menus.home.options[8].action = 'chiama';
        c.menus.home.options[7].action = { answer: '' };
        c.menus.home.options[6].action = { home: 'x' };
        c.menus.home.options[5].action = { menu: 'info', answer: 'orari' };
      }),
    ).toEqual([
      E('menus.home.options[5].action: must be an action: topics, profile, privacy, mydata, erase, operator, home, or menu/answer/subscribe/unsubscribe with a target ("menu: info" as { menu: info })'),
      E('menus.home.options[6].action: "home" takes no target'),
      E('menus.home.options[7].action: "answer" needs a target id (e.g. { answer: orari })'),
      E('menus.home.options[8].action: unknown action "chiama": must be an action: topics, profile, privacy, mydata, erase, operator, home, or menu/answer/subscribe/unsubscribe with a target ("menu: info" as { menu: info })'),
    ]);
  });

  it('the string forms of an action are read like the map form', () => {
    const { service } = loadChanged((c) => {
      c.menus.info.options[0].action = 'answer:orari';
      c.menus.info.options[1].action = 'answer: contatti';
    });
    expect(service.menus.info!.options.slice(0, 2).map((o) => o.action)).toEqual([
      { kind: 'answer', answer: 'orari' },
      { kind: 'answer', answer: 'contatti' },
    ]);
  });
});

describe('other fields', () => {
  it('placeholders a text may not use', () => {
    expect(errorsAfter((c) => (c.texts.subscribed = 'Iscritto a {{topik}}'))).toEqual([
      E('texts.subscribed: unknown placeholder {{topik}} (allowed here: {{topic}}, {{keyword}})'),
    ]);
    expect(errorsAfter((c) => (c.handoff.closedText = 'Chiuso fino a {{quando}}'))).toEqual([E('handoff.closedText: unknown placeholder {{quando}} (allowed here: {{next}})')]);
  });

  it('hand-off: an endpoint or a link, the token only by env name, readable office hours', () => {
    expect(
      errorsAfter((c) => {
        delete c.handoff.endpoint;
        delete c.handoff.link;
      }),
    ).toEqual([E('handoff: needs an endpoint (staff HTTP endpoint), a link (web chat) or both')]);
    expect(errorsAfter((c) => (c.handoff.endpoint.token = 'abc'))).toEqual([E('handoff.endpoint: unknown field(s) "token"')]);
    // The staff token and the citizen's conversation travel with every post: never in clear off this machine.
    expect(errorsAfter((c) => (c.handoff.endpoint.url = 'http://urp.comune.ponteverde.example/api/whatsapp-handoff'))).toEqual([
      E('handoff.endpoint.url: must be https:// (plain http only to this machine): the staff token (and the conversation) travels with every request'),
    ]);
    expect(errorsAfter((c) => (c.handoff.endpoint.tokenEnv = 'my-token'))).toEqual([
      E('handoff.endpoint.tokenEnv: must be an environment variable name (A-Z, 0-9, _)'),
    ]);
    expect(errorsAfter((c) => (c.handoff.officeHours = 'mon-fri 9-13'))).toEqual([
      E('handoff.officeHours: cannot read "mon-fri 9-13": expected groups like "mon-fri 09:00-13:00, tue,thu 15:00-17:30" (days mon…sun or lun…dom)'),
    ]);
    expect(errorsAfter((c) => (c.handoff.timezone = 'Europe/Ponteverde'))).toEqual([E('handoff.timezone: not an IANA time zone (e.g. Europe/Rome)')]);
  });

  it('answer media: exactly one of link or id; filename only for documents', () => {
    expect(errorsAfter((c) => (c.answers['calendario-raccolta'].media.id = '1234567890'))).toEqual([
      E('answers.calendario-raccolta.media: needs exactly one of link or id'),
    ]);
    expect(errorsAfter((c) => (c.answers['calendario-raccolta'].media.type = 'image'))).toEqual([
      E('answers.calendario-raccolta.media.filename: only a document has a filename'),
    ]);
  });

  it('missing and misspelt fields, bad map keys', () => {
    expect(
      errorsAfter((c) => {
        delete c.welcome;
        c.colour = 'green';
        c.menus.Info = c.menus.info;
        c.menus.home.options[0].tilte = 'x';
      }),
    ).toEqual([
      E('menus.Info: a menu id: lower-case letters, digits, - and _ (max 64)'),
      E('welcome: required'),
      E('menus.home.options[0]: unknown field(s) "tilte"'),
      E('(root): unknown field(s) "colour"'),
    ]);
  });

  it('not valid YAML', () => {
    expect(() => parseCitizenService('menus: [', FILE)).toThrow(/^config\/citizen-service\.yaml: not valid YAML: /);
  });

  it('reports every problem at once, and is a ConfigError with the problems listed', () => {
    try {
      loadChanged((c) => {
        c.menus.anagrafe.options[1].title = chars(25);
        c.menus.home.options[1].action = { menu: 'servizi' };
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CitizenServiceConfigError);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as CitizenServiceConfigError).file).toBe(FILE);
      expect((e as CitizenServiceConfigError).problems).toEqual([
        'menus.home.options[1].action: menu "servizi" does not exist (menus: home, info, anagrafe, tributi, rifiuti, segnalazioni, privacy)',
        'menus.anagrafe.options[1].title: at most 24 characters for a list row (it has 25)',
      ]);
    }
  });
});

describe('warnings', () => {
  it('a menu not reachable from home, an answer no option shows, a topic no option offers', () => {
    const { warnings } = loadChanged((c) => {
      c.menus.orfano = { body: 'Nessuno arriva qui', options: [{ id: 'orfano:home', title: 'Menu', action: 'home' }] };
      c.answers.inutile = { text: 'Mai mostrata' };
      c.menus.home.options[5].action = { subscribe: 'meteo' };
      c.menus.privacy.options.splice(1, 1); // "I miei argomenti"
    });
    expect(warnings).toEqual([
      'menus.orfano: not reachable from menus.home',
      'answers.inutile: no menu option shows this answer',
      'topics[1]: no option shows the topics menu or subscribes to "protezione-civile" (only "ISCRIVIMI EMERGENZE" typed reaches it)',
      'topics[2]: no option shows the topics menu or subscribes to "viabilita" (only "ISCRIVIMI STRADE" typed reaches it)',
      'topics[3]: no option shows the topics menu or subscribes to "notizie" (only "ISCRIVIMI NOTIZIE" typed reaches it)',
      'topics[4]: no option shows the topics menu or subscribes to "eventi" (only "ISCRIVIMI EVENTI" typed reaches it)',
    ]);
  });
});
