import type { AdminServices } from './admin-services.ts';

/**
 * After a commit that made deliveries due (resend, enable): wakes this process's dispatcher at once and
 * signals the other processes on the database. Best effort: a lost signal costs one poll interval.
 */
export async function wakeDispatchers(services: AdminServices): Promise<void> {
  services.dispatcher.wake();
  await services.database.wake.signal(services.database.db).catch((err: unknown) => {
    services.logger.warn(
      { err },
      'could not signal the other instances; they will find it at their next poll',
    );
  });
}
