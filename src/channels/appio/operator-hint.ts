// What an operator does about an IO 401 or 403 (or a status read IO answers 404). Both are about the sending service (its key, its
// enablements), not the message, and IO's own wording names neither the service nor where its
// key comes from: with several services the bare "401 Access denied" did not say which to fix.
// Causes from appio.md §1, §2.2, §2.3 and IO's "Errori comuni" page.
import type { IoCall } from './classify.js';

export function operatorHint(call: IoCall, status: number, service: { name: string; keyEnv: string }): string {
  const who = `IO service "${service.name}" (key from $${service.keyEnv})`;
  if (status === 401) {
    return `IO does not accept the key of ${who}: set the variable to that service's primary or secondary key, as shown in IO's back-office (no quotes or spaces)`;
  }
  // IO writes the message before its 201, so an id it does not know was never its answer to us.
  if (status === 404 && call === 'status') return 'IO knows no message with this id for this citizen: an id confirmed by hand may be mistyped';
  if (status !== 403) return '';
  if (call === 'status') {
    // IO lets a service read only the messages it sent.
    return `the message was sent by another service than ${who}: does the variable now hold another service's key?`;
  }
  return `IO refuses this to ${who}: a service still in its test phase reaches only the fiscal codes authorized for its tests; else check that the key is this service's, and the service's authorized source IPs`;
}
