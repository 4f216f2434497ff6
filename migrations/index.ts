// Migrations are listed here (not discovered on disk) so they run the same from TypeScript
// sources under vitest and from the compiled dist/ under `ponte migrate`.
import type { Knex } from 'knex';
import * as core from './20261124_001_core.js';
import * as channelsConsent from './20261124_002_channels_consent.js';
import * as processes from './20261124_003_processes.js';
import * as citizenService from './20261124_004_citizen_service.js';
import * as partialIndexes from './20261203_005_partial_indexes.js';
import * as replyOutbox from './20261203_006_reply_outbox.js';
import * as statusIndexes from './20261204_007_status_indexes.js';
import * as recipientPseudonyms from './20261205_008_recipient_pseudonyms.js';
import * as scopedChannelAlerts from './20261205_009_scoped_channel_alerts.js';
import * as unsentIndex from './20261205_010_unsent_index.js';
import * as processIdentity from './20261205_011_process_identity.js';

interface Migration { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }

const migrations: Record<string, Migration> = {
  '20261124_001_core': core,
  '20261124_002_channels_consent': channelsConsent,
  '20261124_003_processes': processes,
  '20261124_004_citizen_service': citizenService,
  '20261203_005_partial_indexes': partialIndexes,
  '20261203_006_reply_outbox': replyOutbox,
  '20261204_007_status_indexes': statusIndexes,
  '20261205_008_recipient_pseudonyms': recipientPseudonyms,
  '20261205_009_scoped_channel_alerts': scopedChannelAlerts,
  '20261205_010_unsent_index': unsentIndex,
  '20261205_011_process_identity': processIdentity,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = migrations[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
};

export const latestMigration = Object.keys(migrations).at(-1)!;
