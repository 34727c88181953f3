import type { Selectable } from 'kysely';
import type { Executor, Tx } from './database.ts';
import type { AccessKeysTable, UsersTable } from './schema.ts';

export type UserRow = Selectable<UsersTable>;
export type AccessKeyRow = Selectable<AccessKeysTable>;

export function findUser(db: Executor, name: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
}

export function listUsers(db: Executor): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().orderBy('name').execute();
}

export function findRootUser(db: Executor): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('is_root', '=', 1).executeTakeFirst();
}

export async function insertUser(db: Executor, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export async function setUserStatus(db: Executor, name: string, status: UserRow['status']): Promise<void> {
  await db.updateTable('users').set({ status }).where('name', '=', name).execute();
}

/** What a user still owns: buckets, and webhook endpoints (also those whose bucket is gone, `bucket` null). */
export interface UserHoldings {
  readonly buckets: readonly string[];
  readonly endpoints: readonly {
    readonly id: string;
    readonly name: string;
    readonly bucket: string | null;
  }[];
}

/**
 * Everything that names `owner`; a user is deleted only when this is empty, so that nothing is
 * orphaned and a user created later under the same name inherits nothing.
 */
export async function findUserHoldings(db: Executor, owner: string): Promise<UserHoldings> {
  const buckets = await db
    .selectFrom('buckets')
    .select('name')
    .where('owner', '=', owner)
    .orderBy('name')
    .execute();
  const endpoints = await db
    .selectFrom('endpoints')
    .select(['id', 'name', 'bucket'])
    .where('owner', '=', owner)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return { buckets: buckets.map((b) => b.name), endpoints };
}

/** Deletes a user and its access keys, inside the caller's transaction so that both go or neither. */
export async function deleteUserRow(tx: Tx, name: string): Promise<void> {
  await tx.deleteFrom('access_keys').where('user_name', '=', name).execute();
  await tx.deleteFrom('users').where('name', '=', name).execute();
}

/** Demotes and disables every root user but `except` (with its keys), when the configured root changes. */
export async function demoteRootUsers(db: Executor, except: string): Promise<void> {
  const others = await db
    .selectFrom('users')
    .select('name')
    .where('is_root', '=', 1)
    .where('name', '!=', except)
    .execute();
  for (const { name } of others) {
    await db.updateTable('users').set({ is_root: 0, status: 'disabled' }).where('name', '=', name).execute();
  }
}

export async function setRootFlag(db: Executor, name: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ is_root: 1, role: 'admin', status: 'enabled' })
    .where('name', '=', name)
    .execute();
}

export function findAccessKey(db: Executor, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  return db.selectFrom('access_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
}

/** An enabled key of an enabled user, with the user's role. */
export function findActiveCredential(
  db: Executor,
  accessKeyId: string,
): Promise<{ secret_ciphertext: string; user_name: string; role: UserRow['role'] } | undefined> {
  return db
    .selectFrom('access_keys')
    .innerJoin('users', 'users.name', 'access_keys.user_name')
    .select(['access_keys.secret_ciphertext', 'access_keys.user_name', 'users.role'])
    .where('access_keys.access_key_id', '=', accessKeyId)
    .where('access_keys.status', '=', 'enabled')
    .where('users.status', '=', 'enabled')
    .executeTakeFirst();
}

export function listAccessKeys(db: Executor, userName?: string): Promise<AccessKeyRow[]> {
  let query = db.selectFrom('access_keys').selectAll().orderBy('user_name').orderBy('created_at');
  if (userName !== undefined) query = query.where('user_name', '=', userName);
  return query.execute();
}

export async function insertAccessKey(db: Executor, row: AccessKeyRow): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

export async function updateAccessKeySecret(
  db: Executor,
  accessKeyId: string,
  secretCiphertext: string,
): Promise<void> {
  await db
    .updateTable('access_keys')
    .set({ secret_ciphertext: secretCiphertext, status: 'enabled' })
    .where('access_key_id', '=', accessKeyId)
    .execute();
}

export async function setAccessKeyStatus(
  db: Executor,
  accessKeyId: string,
  status: AccessKeyRow['status'],
): Promise<void> {
  await db.updateTable('access_keys').set({ status }).where('access_key_id', '=', accessKeyId).execute();
}

export async function deleteAccessKey(db: Executor, accessKeyId: string): Promise<void> {
  await db.deleteFrom('access_keys').where('access_key_id', '=', accessKeyId).execute();
}
