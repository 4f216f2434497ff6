// `ponte run`'s feed tasks: each configured feed read on its schedule; new items become
// broadcasts the dispatcher then sends like any delivery.
import cron, { type ScheduledTask } from 'node-cron';
import type { AppContext } from '../../app/context.js';
import { loadCitizenService } from '../../citizen/service/index.js';
import { feedHttp, pollFeed } from './poll-feed.js';

export function scheduleFeeds(app: AppContext, wake: () => void): ScheduledTask[] {
  const settings = app.config.citizenService;
  const wa = app.config.channels.whatsapp;
  if (!settings?.enabled || !wa || settings.feeds.length === 0) return [];
  const service = loadCitizenService(settings.file).service;
  const http = feedHttp();
  return settings.feeds.map((feed) => cron.schedule(feed.schedule, async () => {
    const log = app.log.child({ feed: feed.id });
    try {
      const r = await pollFeed(feed, { knex: app.store.knex, service, settings, templates: wa.templates, phoneNumberId: wa.phoneNumberId, quietHours: settings.quietHours, timeZone: app.config.timeZone, http });
      for (const s of r.skipped) log.warn({ item: s.id, reason: s.reason }, 'feed item not broadcast');
      if (r.created.length) {
        log.info({ broadcasts: r.created.map((b) => ({ id: b.id, audience: b.audience, days: b.days.length })) }, 'feed: new items broadcast');
        wake();
      } else log.debug({ items: r.items, firstRead: r.firstRead }, 'feed read: nothing new');
    } catch (e) {
      log.error({ err: e }, 'feed read failed; the next schedule retries');
    }
  }, { timezone: app.config.timeZone, noOverlap: true, name: `feed:${feed.id}` }));
}
