// A news or civil-protection feed as a source of broadcasts: each new item becomes a broadcast to
// the feed's topic, with the item's title (and link) as template parameters. Items older than
// the first read are not sent (a feed's back catalogue is not news); the broadcast key carries the
// item id, so re-reading the feed creates nothing twice.
import type { Knex } from 'knex';
import { createBroadcast, type BroadcastDeps, type CreatedBroadcast } from '../create.js';
import { BroadcastError } from '../validate.js';
import type { FeedItem } from './parse-feed.js';

export interface FeedSettings {
  id: string;
  topic: string;
  template: string;
  /** Which item fields fill the template's body parameters, in order. */
  params: Array<'title' | 'link' | 'summary'>;
  urgent?: boolean;
  /** Items published before this instant are ignored (default: the first read). */
  since?: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export async function broadcastFeedItems(items: FeedItem[], feed: FeedSettings, deps: BroadcastDeps & { knex: Knex }): Promise<{ created: CreatedBroadcast[]; skipped: Array<{ id: string; reason: string }> }> {
  const created: CreatedBroadcast[] = [];
  const skipped: Array<{ id: string; reason: string }> = [];
  const since = feed.since ?? 0;
  for (const item of items) {
    if (item.published !== null && item.published < since) continue;
    const key = `feed:${feed.id}:${item.id}`;
    if (await deps.knex('broadcasts').where({ key }).first('id')) continue;
    const params = feed.params.map((f) => clip((item[f] ?? '').replace(/\s+/g, ' ').trim(), 900));
    const missing = feed.params.filter((f, i) => !params[i]);
    if (missing.length) { skipped.push({ id: item.id, reason: `item has no ${missing.join(', ')}` }); continue; }
    try {
      created.push(await createBroadcast({ key, topic: feed.topic, template: feed.template, params, urgent: feed.urgent ?? false, source: `feed:${feed.id}` }, deps));
    } catch (e) {
      if (e instanceof BroadcastError) { skipped.push({ id: item.id, reason: e.message }); continue; }
      throw e;
    }
  }
  return { created, skipped };
}
