// Entities of a connector instance whose deliveries have not gone out yet: window connectors
// re-read them so a cancellation or a far reschedule in the back-office is seen.
import type { Knex } from 'knex';

export async function pendingEntities(knex: Knex, instanceId: string): Promise<string[]> {
  const rows = (await knex('events as e')
    .join('deliveries as d', 'd.event_id', 'e.id')
    .where('e.instance_id', instanceId)
    .whereNotNull('e.entity')
    .where('d.state', 'pending')
    .distinct('e.entity')) as { entity: string }[];
  return rows.map((r) => r.entity);
}
