// One read of a configured feed: fetch (URL) or read (file), parse, and turn its new items into
// broadcasts. The first read only records where the feed stands, so a feed's back catalogue is
// never broadcast; from then on, items published after the previous read go out.
import { readFile } from 'node:fs/promises';
import axios, { type AxiosInstance } from 'axios';
import type { Knex } from 'knex';
import { parseFeed } from './parse-feed.js';
import { broadcastFeedItems } from './feed-broadcasts.js';
import type { BroadcastDeps } from '../create.js';
import type { CitizenServiceSettings } from '../validate.js';

export type FeedConfig = CitizenServiceSettings['feeds'][number];

/**
 * The client feeds are read with. A news feed is a few hundred kB: a page that never ends (a
 * broken or hijacked site) must fail the read, not be buffered until `ponte run` runs out of memory.
 */
export function feedHttp(): AxiosInstance {
  return axios.create({ timeout: 15_000, maxContentLength: 5 * 1024 * 1024, maxRedirects: 5 });
}

async function load(url: string, http: AxiosInstance): Promise<string> {
  if (!/^https?:\/\//.test(url)) return readFile(url, 'utf8');
  const res = await http.get<string>(url, { responseType: 'text', transformResponse: (x) => x, validateStatus: () => true });
  if (res.status !== 200) throw new Error(`feed ${url}: HTTP ${res.status}`);
  return res.data;
}

export async function pollFeed(feed: FeedConfig, deps: BroadcastDeps & { knex: Knex; http: AxiosInstance; now?: number }) {
  const now = deps.now ?? Date.now();
  const items = parseFeed(await load(feed.url, deps.http), `feed ${feed.id} (${feed.url})`, /^https?:\/\//.test(feed.url) ? feed.url : undefined);
  // The feed's position is kept in connector_state, like a connector's cursor.
  const stateId = `feed:${feed.id}`;
  const state = await deps.knex('connector_state').where({ instance_id: stateId }).first('cursor');
  if (!state) {
    // Undated items are recognised by id: the ones there at the first read are not news either.
    await deps.knex('connector_state').insert({ instance_id: stateId, cursor: JSON.stringify({ since: now, known: items.map((i) => i.id).slice(0, 1000) }), lease_epoch: 0, updated_at: now });
    return { items: items.length, created: [], skipped: [], firstRead: true };
  }
  const cursor = JSON.parse(String(state.cursor)) as { since: number; known?: string[] };
  const known = new Set(cursor.known ?? []);
  const since = Number(cursor.since);
  const r = await broadcastFeedItems(items.filter((i) => !known.has(i.id)), { id: feed.id, topic: feed.topic, template: feed.template, params: feed.params, urgent: feed.urgent, since }, deps);
  return { items: items.length, ...r, firstRead: false };
}
