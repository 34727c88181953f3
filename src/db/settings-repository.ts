import type { Executor } from './database.ts';

export async function readSetting(db: Executor, name: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('server_settings')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}

/** Stores a value unless one is already there; returns the value that won. */
export async function initSetting(db: Executor, name: string, value: string): Promise<string> {
  await db
    .insertInto('server_settings')
    .values({ name, value })
    .onConflict((c) => c.column('name').doNothing())
    .execute();
  return (await readSetting(db, name)) ?? value;
}
