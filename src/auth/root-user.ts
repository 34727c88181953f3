import { randomBytes } from 'node:crypto';
import type { Db, Tx } from '../db/database.ts';
import type { SecretBox } from '../db/secret-box.ts';
import {
  demoteRootUsers,
  findAccessKey,
  findRootUser,
  findUser,
  insertAccessKey,
  insertUser,
  setRootFlag,
  updateAccessKeySecret,
} from '../db/user-repository.ts';

export interface RootCredentials {
  readonly accessKeyId: string;
  readonly secretKey: string;
  /** True when they were generated now, so the caller prints them once. */
  readonly generated: boolean;
}

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function generateAccessKeyId(): string {
  const bytes = randomBytes(20);
  return [...bytes].map((b) => ACCESS_KEY_ALPHABET[b % ACCESS_KEY_ALPHABET.length]).join('');
}

export function generateSecretKey(): string {
  return randomBytes(30).toString('base64').replaceAll('+', 'A').replaceAll('/', 'B');
}

interface ConfiguredRoot {
  readonly user: string | undefined;
  readonly password: string | undefined;
}

/**
 * Makes sure the root (admin) user exists: the configured credentials win (and replace an earlier
 * root); otherwise the stored root is kept; otherwise new credentials are generated.
 *
 * Everything is one transaction, committed (durably: SQLite runs with `synchronous = FULL`, PostgreSQL
 * commits synchronously) before this returns, so generated credentials are stored before anyone prints
 * them, and a crash half-way leaves no root user without its key.
 */
export async function ensureRootUser(
  db: Db,
  box: SecretBox,
  configured: ConfiguredRoot,
  now: number,
): Promise<RootCredentials> {
  if ((configured.user === undefined) !== (configured.password === undefined)) {
    throw new Error('set both BUCKETBELL_ROOT_USER and BUCKETBELL_ROOT_PASSWORD, or neither');
  }
  if (configured.user !== undefined && configured.password !== undefined) {
    if (configured.user.length < 3) throw new Error('BUCKETBELL_ROOT_USER must be at least 3 characters');
    if (configured.password.length < 8) {
      throw new Error('BUCKETBELL_ROOT_PASSWORD must be at least 8 characters');
    }
  }
  return db.transaction().execute((tx) => ensureRootUserIn(tx, box, configured, now));
}

async function ensureRootUserIn(
  db: Tx,
  box: SecretBox,
  configured: ConfiguredRoot,
  now: number,
): Promise<RootCredentials> {
  if (configured.user !== undefined && configured.password !== undefined) {
    if ((await findUser(db, configured.user)) === undefined) {
      await insertUser(db, {
        name: configured.user,
        role: 'admin',
        status: 'enabled',
        is_root: 1,
        created_at: now,
      });
    } else {
      await setRootFlag(db, configured.user);
    }
    const key = await findAccessKey(db, configured.user);
    if (key === undefined) {
      await insertAccessKey(db, {
        access_key_id: configured.user,
        user_name: configured.user,
        secret_ciphertext: box.seal(configured.password),
        status: 'enabled',
        description: 'root (BUCKETBELL_ROOT_USER)',
        created_at: now,
      });
    } else if (key.user_name !== configured.user) {
      throw new Error(
        `BUCKETBELL_ROOT_USER ${configured.user} is already an access key of user ${key.user_name}`,
      );
    } else {
      await updateAccessKeySecret(db, configured.user, box.seal(configured.password));
    }
    await demoteRootUsers(db, configured.user);
    return { accessKeyId: configured.user, secretKey: configured.password, generated: false };
  }
  const root = await findRootUser(db);
  const rootKey = root === undefined ? undefined : await findAccessKey(db, root.name);
  if (rootKey !== undefined) {
    return {
      accessKeyId: rootKey.access_key_id,
      secretKey: box.open(rootKey.secret_ciphertext),
      generated: false,
    };
  }
  const accessKeyId = generateAccessKeyId();
  const secretKey = generateSecretKey();
  await insertUser(db, { name: accessKeyId, role: 'admin', status: 'enabled', is_root: 1, created_at: now });
  await insertAccessKey(db, {
    access_key_id: accessKeyId,
    user_name: accessKeyId,
    secret_ciphertext: box.seal(secretKey),
    status: 'enabled',
    description: 'root (generated)',
    created_at: now,
  });
  return { accessKeyId, secretKey, generated: true };
}
