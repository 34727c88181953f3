import type { Kysely } from 'kysely';

/**
 * A resent delivery (or one released by re-enabling its endpoint) gets a whole retry schedule again
 * while its attempt numbers keep counting up: `budget_start` is the attempt count at the last reset,
 * and the dispatcher dead-letters when `attempts - budget_start` reaches the endpoint's `max_attempts`.
 */
export function deliveryBudgetMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('deliveries')
        .addColumn('budget_start', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
