// RSS 2.0 and Atom 1.0 items, reduced to what a broadcast needs. The item's own id (guid / atom
// id, else its link) is the dedup key, so a feed re-read every few minutes never sends twice.
import { XMLParser } from 'fast-xml-parser';
import { feedText } from './html-text.js';

export interface FeedItem { id: string; title: string; link: string | null; summary: string | null; published: number | null }

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', trimValues: true });

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number') return String(v).trim() || null;
  if (typeof v === 'object' && '#text' in (v as object)) return text((v as Record<string, unknown>)['#text']);
  return null;
};
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const date = (s: string | null) => { const t = s ? Date.parse(s) : NaN; return Number.isFinite(t) ? t : null; };

export class FeedError extends Error { override name = 'FeedError'; }

/** An item's link made absolute against the feed's own address or site (a relative one leads nowhere in a chat). */
function absolute(link: string | null, bases: Array<string | null | undefined>): string | null {
  if (!link) return null;
  for (const base of [undefined, ...bases]) {
    try {
      if (base !== null) return new URL(link, base).href;
    } catch { /* not absolute against this base: try the next */ }
  }
  return link;
}

/** `url`: where the feed was read from, when it was read over HTTP (relative links resolve against it). */
export function parseFeed(xml: string, source: string, url?: string): FeedItem[] {
  let doc: Record<string, any>;
  try {
    doc = parser.parse(xml) as Record<string, any>;
  } catch (e) {
    throw new FeedError(`${source}: not XML (${(e as Error).message})`);
  }
  const items: FeedItem[] = [];
  if (doc.rss?.channel) {
    const site = text(doc.rss.channel.link);
    list<Record<string, unknown>>(doc.rss.channel.item).forEach((it, i) => {
      const link = text(it.link);
      const id = text(it.guid) ?? link;
      const title = feedText(text(it.title));
      if (!id || !title) throw new FeedError(`${source}: item[${i}] has no ${!title ? 'title' : 'guid or link'}`);
      items.push({ id, title, link: absolute(link, [url, site]), summary: feedText(text(it.description), true), published: date(text(it.pubDate)) });
    });
  } else if (doc.feed) {
    const site = list(doc.feed.link as Record<string, string> | Record<string, string>[]).find((l) => !l['@rel'] || l['@rel'] === 'alternate')?.['@href'];
    list<Record<string, unknown>>(doc.feed.entry).forEach((it, i) => {
      const links = list(it.link as Record<string, string> | Record<string, string>[]);
      const link = (links.find((l) => !l['@rel'] || l['@rel'] === 'alternate') ?? links[0])?.['@href'] ?? null;
      const id = text(it.id) ?? link;
      const title = feedText(text(it.title), true);
      if (!id || !title) throw new FeedError(`${source}: entry[${i}] has no ${!title ? 'title' : 'id or link'}`);
      items.push({ id, title, link: absolute(link, [url, site]), summary: feedText(text(it.summary) ?? text(it.content), true), published: date(text(it.updated) ?? text(it.published)) });
    });
  } else {
    throw new FeedError(`${source}: neither an RSS <rss><channel> nor an Atom <feed> document`);
  }
  return items;
}
