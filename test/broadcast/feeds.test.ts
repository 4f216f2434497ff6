// News (RSS) and civil-protection alert (Atom) feeds as sources of broadcasts, from local
// fixtures: each new item one broadcast, re-reading creates nothing, old items are not news,
// a feed that is not a feed is named.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recipientPseudonyms } from '../../src/store/store-meta.js';
import { parseFeed, FeedError } from '../../src/broadcast/feeds/parse-feed.js';
import { broadcastFeedItems } from '../../src/broadcast/feeds/feed-broadcasts.js';
import { loadCitizenService } from '../../src/citizen/service/index.js';
import { citizenServiceSchema, whatsappSchema } from '../../src/config/schema.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/temp-dir.js';

const fixture = (f: string) => readFileSync(`test/broadcast/fixtures/${f}`, 'utf8');
const service = loadCitizenService('config/citizen-service.yaml').service;
const settings = citizenServiceSchema.parse({});
const templates = whatsappSchema.shape.templates.parse({ notizie_comune: { category: 'marketing', params: 2 }, allerta_meteo: { category: 'utility', params: 1 } });
let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

describe('feeds', () => {
  it('reads RSS 2.0 and Atom items with their stable ids', () => {
    expect(parseFeed(fixture('notizie.rss.xml'), 'notizie.rss.xml')).toEqual([
      { id: 'https://www.comune.ponteverde.example/notizie/1203', title: 'Mercatino di Natale in piazza Garibaldi', link: 'https://www.comune.ponteverde.example/notizie/mercatino-natale', summary: 'Dal 5 dicembre le casette in piazza.', published: Date.parse('2026-11-23T08:00:00Z') },
      { id: '1198', title: 'Nuovi orari della biblioteca civica', link: 'https://www.comune.ponteverde.example/notizie/orari-biblioteca', summary: null, published: Date.parse('2026-11-13T11:00:00Z') },
    ]);
    expect(parseFeed(fixture('allerte.atom.xml'), 'allerte.atom.xml')).toEqual([
      { id: 'urn:ponteverde:allerta:2026-118', title: 'Allerta arancione per piogge intense dalle 14 di oggi', link: 'https://www.comune.ponteverde.example/allerte/2026-118', summary: 'Evitare i sottopassi, non sostare vicino al torrente.', published: Date.parse('2026-11-24T06:00:00Z') },
    ]);
    expect(() => parseFeed('<html><body>404</body></html>', 'https://x.example/feed')).toThrow(FeedError);
    expect(() => parseFeed('<rss><channel><item><link>x</link></item></channel></rss>', 'f.xml')).toThrow(/f.xml: item\[0\] has no title/);
  });

  // WordPress, which many Comuni's sites run on, writes ’ and – as &#8217; and &#8211;; a
  // description is HTML with named entities; links may be relative to the site.
  it('gives citizens text, not entities, and absolute links', () => {
    const rss = `<?xml version="1.0"?><rss version="2.0"><channel><title>Notizie</title><link>https://www.comune.ponteverde.example/</link>
      <item><title>L&#8217;allerta meteo &#8211; chiusura scuole &amp; parchi</title><link>/notizie/allerta</link><guid>a1</guid>
        <description><![CDATA[<p>La chiusura &egrave; disposta fino a &#8220;nuovo avviso&#8221;&nbsp;&amp; oltre</p>]]></description></item>
      <item><title><![CDATA[Strade chiuse: l&#8217;elenco]]></title><link>https://altro.example/x</link><guid>a2</guid><description>&lt;p&gt;Testo &amp;egrave; qui&lt;/p&gt;</description></item>
    </channel></rss>`;
    const [a, b] = parseFeed(rss, 'rss');
    expect(a).toMatchObject({ id: 'a1', title: 'L’allerta meteo – chiusura scuole & parchi', link: 'https://www.comune.ponteverde.example/notizie/allerta', summary: 'La chiusura è disposta fino a “nuovo avviso” & oltre' });
    expect(b).toMatchObject({ id: 'a2', title: 'Strade chiuse: l’elenco', link: 'https://altro.example/x', summary: 'Testo è qui' });
    // Read over HTTP, the feed's own address is the base; an unknown entity is left as written.
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e1</id><title>Avviso &amp;foo; n&#xB0; 3</title><link href="allerte/3"/></entry></feed>`;
    expect(parseFeed(atom, 'atom', 'https://protezionecivile.example/feed/atom.xml')[0]).toMatchObject({ title: 'Avviso &foo; n° 3', link: 'https://protezionecivile.example/feed/allerte/3' });
  });

  it('turns each new item into one broadcast, once; old items and items of the wrong category are skipped with the reason', async () => {
    store = await testStore('sqlite');
    const now = Date.now();
    await store.knex('topic_subscriptions').insert([{ phone: '+393471111111', topic: 'notizie', state: 'subscribed', updated_at: now }, { phone: '+393472222222', topic: 'meteo', state: 'subscribed', updated_at: now }]);
    const deps = { knex: store.knex, service, settings, templates, phoneNumberId: '1' };
    const news = parseFeed(fixture('notizie.rss.xml'), 'rss');
    const feed = { id: 'notizie', topic: 'notizie', template: 'notizie_comune', params: ['title', 'link'] as Array<'title' | 'link'>, since: Date.parse('2026-11-20T00:00:00Z') };
    const first = await broadcastFeedItems(news, feed, deps);
    expect(first.created.map((b) => [b.audience, b.created])).toEqual([[1, 1]]); // the 13 November item is older than `since`
    expect((await broadcastFeedItems(news, feed, deps)).created).toEqual([]);
    const ev = await store.knex('events').where({ instance_id: 'broadcast:notizie' }).select('dedup_key', 'payload');
    // The recipient by pseudonym, never by number: dedup keys outlive retention (migration 008).
    expect(ev.map((e) => e.dedup_key)).toEqual([`feed:notizie:https://www.comune.ponteverde.example/notizie/1203:${(await recipientPseudonyms(store.knex))('+393471111111')}`]);
    expect(JSON.parse(ev[0].payload)).toMatchObject({ p1: 'Mercatino di Natale in piazza Garibaldi', p2: 'https://www.comune.ponteverde.example/notizie/mercatino-natale' });

    // An alert feed wired to a MARKETING template by mistake: nothing sent, the reason kept.
    const alerts = parseFeed(fixture('allerte.atom.xml'), 'atom');
    const wrong = await broadcastFeedItems(alerts, { id: 'allerte', topic: 'meteo', template: 'notizie_comune', params: ['title', 'link'] }, deps);
    expect(wrong.created).toEqual([]);
    expect(wrong.skipped[0]!.reason).toMatch(/approved as MARKETING but topic "meteo" is UTILITY/);
    const right = await broadcastFeedItems(alerts, { id: 'allerte', topic: 'meteo', template: 'allerta_meteo', params: ['title'], urgent: true }, deps);
    expect(right.created.map((b) => b.audience)).toEqual([1]);
  });
});

describe('pollFeed', () => {
  it('first read records where the feed stands; a new item later becomes one broadcast', async () => {
    const { pollFeed } = await import('../../src/broadcast/feeds/poll-feed.js');
    const axios = (await import('axios')).default;
    store = await testStore('sqlite');
    await store.knex('topic_subscriptions').insert({ phone: '+393471111111', topic: 'notizie', state: 'subscribed', updated_at: Date.now() });
    const file = join(tempDir('feed'), 'notizie.xml');
    const rss = fixture('notizie.rss.xml');
    writeFileSync(file, rss);
    const feed = citizenServiceSchema.parse({ feeds: [{ id: 'notizie', url: file, topic: 'notizie', template: 'notizie_comune' }] }).feeds[0]!;
    const deps = { knex: store.knex, service, settings, templates, phoneNumberId: '1', http: axios.create() };
    expect(await pollFeed(feed, deps)).toMatchObject({ items: 2, created: [], firstRead: true });
    expect(await pollFeed(feed, deps)).toMatchObject({ items: 2, created: [], firstRead: false });
    // A new item, undated, appears at the top.
    writeFileSync(file, rss.replace('<item>', '<item><title>Chiusura scuole per neve</title><guid>1210</guid><link>https://www.comune.ponteverde.example/n/1210</link></item><item>'));
    const r = await pollFeed(feed, deps);
    expect(r.created.map((b) => [b.audience, b.created])).toEqual([[1, 1]]);
    expect((await pollFeed(feed, deps)).created).toEqual([]);
  });
});

describe('feedHttp', () => {
  it('refuses a feed larger than 5 MiB instead of buffering it', async () => {
    const { feedHttp, pollFeed } = await import('../../src/broadcast/feeds/poll-feed.js');
    const { createServer } = await import('node:http');
    // A page that keeps going: 6 MiB of items.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/rss+xml' });
      const item = '<item><guid>x</guid><title>' + 'a'.repeat(1000) + '</title></item>';
      let sent = 0;
      res.write('<rss><channel>');
      const more = () => { while (sent < 6 * 1024 * 1024) { sent += item.length; if (!res.write(item)) return void res.once('drain', more); } res.end('</channel></rss>'); };
      res.on('error', () => {});
      more();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      store = await testStore('sqlite');
      const { port } = server.address() as { port: number };
      const feed = citizenServiceSchema.parse({ feeds: [{ id: 'big', url: `http://127.0.0.1:${port}/feed.xml`, topic: 'notizie', template: 'notizie_comune' }] }).feeds[0]!;
      await expect(pollFeed(feed, { knex: store.knex, service, settings, templates, phoneNumberId: '1', http: feedHttp() })).rejects.toThrow(/maxContentLength/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('scheduleFeeds (ponte run)', () => {
  it('reads each feed on its schedule and wakes the dispatcher when an item became a broadcast', async () => {
    const { scheduleFeeds } = await import('../../src/broadcast/feeds/schedule-feeds.js');
    const { configSchema } = await import('../../src/config/schema.js');
    const { pino } = await import('pino');
    store = await testStore('sqlite');
    await store.knex('topic_subscriptions').insert({ phone: '+393471111111', topic: 'meteo', state: 'subscribed', updated_at: Date.now() });
    const file = join(tempDir('feed'), 'allerte.xml');
    const atom = fixture('allerte.atom.xml');
    writeFileSync(file, atom);
    const config = configSchema.parse({
      channels: { whatsapp: { phoneNumberId: '1', templates: { allerta_meteo: { category: 'utility', params: 1 } } } },
      citizenService: { feeds: [{ id: 'allerte', url: file, topic: 'meteo', template: 'allerta_meteo', params: ['title'], urgent: true, schedule: '* * * * * *' }] },
    });
    let woken = 0;
    const tasks = scheduleFeeds({ config, log: pino({ level: 'silent' }), store } as never, () => { woken++; });
    try {
      const until = async (cond: () => Promise<boolean>) => { for (let i = 0; i < 60 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 100)); };
      await until(async () => Boolean(await store!.knex('connector_state').where({ instance_id: 'feed:allerte' }).first()));
      writeFileSync(file, atom.replace('<entry>', '<entry><title>Allerta rossa: scuole chiuse domani</title><id>urn:ponteverde:allerta:2026-119</id></entry><entry>'));
      await until(async () => Boolean(await store!.knex('broadcasts').first()));
      expect(await store.knex('broadcasts').select('key', 'topic', 'urgent', 'audience')).toEqual([{ key: 'feed:allerte:urn:ponteverde:allerta:2026-119', topic: 'meteo', urgent: 1, audience: 1 }]);
      expect(woken).toBe(1);
    } finally {
      for (const t of tasks) await t.stop();
    }
  }, 15_000);
});
