// The connector contract: what a back-office plugin must provide, and what it may emit.
// A connector never writes to the store itself: it yields batches, and the runner commits
// each batch (events, cancellations, row errors and the new cursor) in ONE store transaction.
import type { z } from 'zod';
import type { Logger } from 'pino';

/** Who an event is for. The fiscal code is the citizen's identity on every channel. */
export interface Recipient {
  fiscalCode: string;
  /** Optional, any format the back-office holds; normalised by the channels that use it. */
  phone?: string;
  /** Preferred language, ISO 639-1 ("it", "en", "de" ...). Italian when absent. */
  language?: string;
}

export interface EmittedEvent {
  /** Permanent dedup key: the same real-world occurrence must always produce the same key. */
  key: string;
  /** Event type: selects templates, IO service and routing. */
  type: string;
  /**
   * The back-office entity the event is about (e.g. "appointment:123"). A new event for the
   * same entity supersedes (cancels) the still-pending deliveries of older events for it.
   */
  entity?: string;
  recipient: Recipient;
  /** Template data. Must be JSON-serialisable (Dates become ISO strings). */
  data: Record<string, unknown>;
  /** Do not send before this instant. */
  notBefore?: Date;
  /** Never send at or after this instant. */
  expiresAt?: Date;
  /** The back-office row it came from (primary key), used to name the row in error reports. */
  rowKey?: string;
}

/** An entity whose pending deliveries must not go out any more (appointment cancelled ...). */
export interface Cancellation {
  entity: string;
  reason: string;
}

/** A back-office row that could not become an event: recorded, logged, skipped. */
export interface RowError {
  /** The row's identity in the back-office (its primary key), never personal data. */
  rowKey: string;
  field?: string;
  message: string;
}

/** One unit of work committed atomically by the runner. */
export interface Batch<C = unknown> {
  events: EmittedEvent[];
  cancellations?: Cancellation[];
  errors?: RowError[];
  /** Incremental connectors: the cursor after this batch (stored in the same transaction). */
  cursor?: C;
  /** Rows read from the back-office for this batch (for progress and metrics). */
  rowsRead?: number;
}

export interface PollContext<Cfg, C> {
  /** The instance id from config/ponte.yaml (several instances may share one connector module). */
  instanceId: string;
  config: Cfg;
  /** Incremental connectors: the cursor committed by the last successful batch. */
  cursor: C | undefined;
  /** The application clock at the start of the run (window connectors use the DB clock when they can). */
  now: Date;
  log: Logger;
  /**
   * Window connectors: entities of this connector instance that still have deliveries waiting
   * to go out. The connector re-reads them, so a cancellation or a move outside the window is seen.
   */
  pendingEntities: string[];
  /**
   * Any shape: the entities still waiting to go out, read from the store when called (a window
   * connector has them up front, above). The CSV position cursor asks when it replays a rewritten
   * file. Absent (a bare harness): nothing is pending.
   */
  pendingEntitiesNow?: () => Promise<string[]>;
  signal: AbortSignal;
}

export type ConnectorShape = 'incremental' | 'window';

export interface MessageTemplate {
  /** IO subject: 10-120 characters, no personal data. */
  subject: string;
  /** IO markdown body: 80-10000 characters. */
  markdown: string;
}

export interface EventTypeSpec {
  description?: string;
  /** Data fields holding personal data (name, plate ...): their values must never be in a subject. */
  personalFields?: string[];
  /** Templates by language code; "it" is required and is the fallback. */
  templates: { it: MessageTemplate } & Record<string, MessageTemplate>;
  /**
   * Every data name an event of this type can carry, when the connector knows them (a declarative
   * connector does: its `data` and `dates`). Given, the WhatsApp template parameters of the
   * instance's routes are checked against them when the configuration loads.
   */
  dataFields?: readonly string[];
}

/** The event fields read from one back-office column, which the runner checks after the connector. */
export type ColumnField = 'fiscalCode' | 'phone' | 'language' | 'notBefore' | 'expiresAt';

export interface ConnectorDefinition<S extends z.ZodType = z.ZodType, C = unknown> {
  name: string;
  description: string;
  shape: ConnectorShape;
  configSchema: S;
  eventTypes: Record<string, EventTypeSpec>;
  /**
   * The column each event field is read from, for an instance's config. Row errors name the
   * column, the name a CED person sees in their table; the runner's own checks (a malformed fiscal
   * code) only know the event field, and without this they name that instead ("fiscalCode").
   */
  columnsOf?(config: z.infer<S>): Partial<Record<ColumnField, string | null>>;
  /** Optional connectivity and schema check ("ponte connector check"), Airbyte-style. */
  check?(config: z.infer<S>, log: Logger): Promise<void>;
  poll(ctx: PollContext<z.infer<S>, C>): AsyncIterable<Batch<C>>;
}

/** Identity helper that gives connector authors full type inference. */
export function defineConnector<S extends z.ZodType, C = never>(def: ConnectorDefinition<S, C>): ConnectorDefinition<S, C> {
  if (def.shape === 'window' && 'cursor' in def) throw new Error(`connector ${def.name}: window connectors keep no cursor`);
  return def;
}
