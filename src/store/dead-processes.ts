// A process killed on this machine (SIGKILL, the OOM killer, a crash) leaves its claims behind:
// deliveries and connector leases nobody may take until they run out (dispatcher.leaseSeconds,
// 120 s by default). When it ran here, in this pid namespace, the kernel can say for certain that
// it is gone, and its claims are released at once: a restart resumes its work in seconds.
// A late heartbeat cannot say it: a store outage stops every heartbeat together, and a process
// whose heartbeat is late may still hold provider answers to record. So processes elsewhere (or
// where the machine cannot be identified) keep their claims until their leases run out, as before.
// A pid reused by another process reads as alive. Where the pid cannot say (a container restarted
// in a new pid namespace, a pid reused), the process's alive socket can (alive-socket.ts): a socket
// file the kernel no longer listens on, in the send-journal folder, proves the process gone.
import type { Knex } from 'knex';
import { FORGET_AFTER_MS, HEARTBEAT_MS } from './processes.js';
import { isClaimTag } from '../util/process-identity.js';

/** How long a process must have been silent before its pid is looked at (a restart waits this long at most). */
export const SILENT_MS = 3 * HEARTBEAT_MS;

export interface ReleasedProcess {
  owner: string;
  pid: number;
  /** How it was found gone: its pid here, or its alive socket (another pid namespace, same kernel). */
  by: 'pid' | 'socket';
  deliveries: number;
  connectors: string[];
}

/**
 * What a dead process's send journal says (send-journal.ts): the requests it made, as
 * "<delivery id>.<attempt>", or null when it left none here (nothing is known then).
 */
export interface Journals {
  read(claimTag: string): Set<string> | null;
  /** Removes the journal, and the alive socket beside it, once read. */
  remove(claimTag: string): void;
  /** The alive sockets in the same folder (none off Linux): see SocketGone. */
  socketGone?: SocketGone;
}

/**
 * Asks whether a process's alive socket (alive-socket.ts) is here and refuses connections; false
 * when it has none here. Given, processes of any host key are asked, the socket being proof enough.
 */
export type SocketGone = (claimTag: string) => Promise<boolean>;

/** Gone by its pid (same host key) or by its alive socket; null when neither proves it. */
async function goneBy(
  p: { pid: number | string; claim_tag: string; host_key: string | null },
  hostKey: string | null,
  gone: (pid: number) => boolean,
  socketGone: SocketGone | undefined,
): Promise<'pid' | 'socket' | null> {
  if (hostKey && p.host_key === hostKey && pidGoneHere(p.pid, gone)) return 'pid';
  return socketGone && (await socketGone(p.claim_tag)) ? 'socket' : null;
}

/** A pid kill() reads as one process (not a group, not every process) and that the kernel says is gone. */
function pidGoneHere(raw: number | string, gone: (pid: number) => boolean): boolean {
  const pid = Number(raw);
  return Number.isSafeInteger(pid) && pid > 0 && gone(pid);
}

/** States a claim can hold a delivery in (claims take pending and accepted; `sending` is written under one). */
const CLAIMABLE = ['pending', 'sending', 'accepted'];

/**
 * Releases the claims of every process recorded with this host key whose pid is gone, and (with
 * `socketGone`) of every process whose alive socket is closed. `seen` holds the owners already
 * handled by this process, so that each costs one pass, at its first heartbeat after the death
 * (the deliveries UPDATE reads the claimable rows of the state index).
 */
export async function releaseDeadNeighbours(
  knex: Knex,
  me: { owner: string; hostKey: string | null },
  now: number,
  gone: (pid: number) => boolean,
  seen: Set<string>,
  socketGone?: SocketGone,
): Promise<ReleasedProcess[]> {
  if (!me.hostKey && !socketGone) return [];
  const q = knex('processes');
  if (!socketGone) q.where({ host_key: me.hostKey });
  const rows = (await q
    .whereNot({ owner: me.owner })
    // Silent for a few beats: a host key can be shared by another machine (a VM cloned from a
    // running snapshot keeps hostname, boot id and namespace numbers), whose live processes keep
    // beating while their pids look gone here. Not those silent for an hour: no lease outlives that.
    .where('heartbeat_at', '<', now - SILENT_MS)
    .where('heartbeat_at', '>=', now - FORGET_AFTER_MS)
    .whereNotNull('pid').whereNotNull('claim_tag')
    .select('owner', 'pid', 'claim_tag', 'host_key')) as Array<{ owner: string; pid: number | string; claim_tag: string; host_key: string | null }>;
  const released: ReleasedProcess[] = [];
  for (const r of rows) {
    if (seen.has(r.owner)) continue;
    // The tag goes into a LIKE pattern: one with a wildcard (`%`, `_`, SQL Server's `[`), or none,
    // would match other processes' claims, live ones included. Ponte writes hex; anything else
    // (a row written by hand or by another program) is left to its leases.
    if (!isClaimTag(r.claim_tag)) continue;
    const by = await goneBy(r, me.hostKey, gone, socketGone);
    if (by === null) continue;
    // Expired, not cleared: the takeover paths then apply as after any lease that ran out (a
    // `sending` becomes uncertain, a pending claim is claimable, a takeover is counted with resend).
    const deliveries = await knex('deliveries')
      .whereIn('state', CLAIMABLE)
      .where('lease_token', 'like', `${r.claim_tag}.%`)
      .where('lease_until', '>=', now)
      .update({ lease_until: now - 1 });
    const connectors = (await knex('connector_state').where({ lease_owner: r.owner }).where('lease_expires_at', '>=', now).pluck('instance_id')) as string[];
    if (connectors.length) await knex('connector_state').whereIn('instance_id', connectors).where({ lease_owner: r.owner }).update({ lease_expires_at: now - 1 });
    seen.add(r.owner);
    // Its send journal is read by the dispatcher's pass that this release triggers (resendUnsentOfGone).
    if (deliveries > 0 || connectors.length > 0) released.push({ owner: r.owner, pid: Number(r.pid), by, deliveries, connectors });
  }
  return released;
}

/**
 * The dead process's `sending` deliveries whose request its journal does not hold: the kill came
 * between their `sending` commit and the request (it is written before the request leaves), so
 * none of them reached the provider. They are due again, their attempt not spent, instead of
 * being held uncertain. Each write is guarded by the claim it was made under and its attempt, so a
 * delivery that moved on meanwhile is left alone.
 */
async function dueAgainIfNeverSent(knex: Knex, tag: string, sent: Set<string>, now: number): Promise<number> {
  const sending = (await knex('deliveries')
    .where({ state: 'sending' })
    .where('lease_token', 'like', `${tag}.%`)
    .select('id', 'attempts', 'lease_token')) as Array<{ id: number | string; attempts: number | string; lease_token: string }>;
  let unsent = 0;
  for (const d of sending) {
    const attempts = Number(d.attempts);
    if (sent.has(`${Number(d.id)}.${attempts}`)) continue;
    unsent += await knex('deliveries')
      .where({ id: d.id, state: 'sending', lease_token: d.lease_token, attempts })
      .update({
        state: 'pending', attempts: Math.max(0, attempts - 1), lease_token: null, lease_until: null, next_attempt_at: now, updated_at: now,
        reason: 'its process stopped before this send left (its send journal says so): sent again',
      });
  }
  return unsent;
}

/**
 * Before stale sends are recovered (recover-stale.ts holds every `sending` whose claim ran out
 * uncertain): those of a process that ran here (by its pid, or by its alive socket), is gone, and left its send journal here are first
 * checked against it. The one place a journal is read: claims run out by their lease or by a
 * release (releaseDeadNeighbours), and either way the next dispatcher pass comes here first. The
 * journal file being here is itself proof that the process ran on this machine. Once read it is
 * removed: the dead process's `sending` left are those it shows sent, uncertain with or without it.
 */
export async function resendUnsentOfGone(
  knex: Knex,
  me: { hostKey: string | null },
  now: number,
  gone: (pid: number) => boolean,
  journals: Journals,
): Promise<number> {
  const { socketGone } = journals;
  if (!me.hostKey && !socketGone) return 0;
  const tokens = (await knex('deliveries').where({ state: 'sending' }).where('lease_until', '<', now).distinct('lease_token').pluck('lease_token')) as Array<string | null>;
  const tags = new Set(tokens.map((t) => t?.split('.')[0] ?? '').filter(isClaimTag));
  if (tags.size === 0) return 0;
  const q = knex('processes');
  if (!socketGone) q.where({ host_key: me.hostKey });
  const procs = (await q.whereIn('claim_tag', [...tags]).whereNotNull('pid')
    .select('pid', 'claim_tag', 'host_key')) as Array<{ pid: number | string; claim_tag: string; host_key: string | null }>;
  let unsent = 0;
  for (const p of procs) {
    if ((await goneBy(p, me.hostKey, gone, socketGone)) === null) continue;
    const sent = journals.read(p.claim_tag);
    if (sent === null) continue;
    unsent += await dueAgainIfNeverSent(knex, p.claim_tag, sent, now);
    journals.remove(p.claim_tag);
  }
  return unsent;
}
