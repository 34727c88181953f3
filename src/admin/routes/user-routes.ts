import { z } from 'zod';
import { generateAccessKeyId, generateSecretKey } from '../../auth/root-user.ts';
import {
  deleteAccessKey,
  deleteUserRow,
  findAccessKey,
  findUser,
  findUserHoldings,
  insertAccessKey,
  insertUser,
  listAccessKeys,
  listUsers,
  setAccessKeyStatus,
  setUserStatus,
  type AccessKeyRow,
  type UserHoldings,
  type UserRow,
} from '../../db/user-repository.ts';
import { ApiError } from '../api-error.ts';
import { defineRoute } from '../api-route.ts';

const userName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._@+=-]{2,63}$/,
    '3 to 64 letters, digits or ._@+=-, starting with a letter or digit',
  );

const userView = z.object({
  name: z.string(),
  role: z.enum(['admin', 'user']),
  status: z.enum(['enabled', 'disabled']),
  isRoot: z.boolean(),
  createdAt: z.string(),
});
const keyView = z.object({
  accessKeyId: z.string(),
  userName: z.string(),
  status: z.enum(['enabled', 'disabled']),
  description: z.string().nullable(),
  createdAt: z.string(),
});
const newKeyView = keyView.extend({ secretKey: z.string().describe('Shown only in this response.') });

function toUserView(row: UserRow): z.infer<typeof userView> {
  return {
    name: row.name,
    role: row.role,
    status: row.status,
    isRoot: row.is_root === 1,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

function toKeyView(row: AccessKeyRow): z.infer<typeof keyView> {
  return {
    accessKeyId: row.access_key_id,
    userName: row.user_name,
    status: row.status,
    description: row.description,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

async function requireUser(db: Parameters<typeof findUser>[0], name: string): Promise<UserRow> {
  const user = await findUser(db, name);
  if (user === undefined) throw new ApiError('NOT_FOUND', `There is no user ${name}.`);
  return user;
}

async function requireAccessKey(
  db: Parameters<typeof findUser>[0],
  accessKeyId: string,
): Promise<AccessKeyRow> {
  const key = await findAccessKey(db, accessKeyId);
  if (key === undefined) throw new ApiError('NOT_FOUND', `There is no access key ${accessKeyId}.`);
  return key;
}

/** The root user's own key (its name): the one that always lets an admin in, so it is never deleted or disabled. */
async function isRootOwnKey(db: Parameters<typeof findUser>[0], key: AccessKeyRow): Promise<boolean> {
  const owner = await findUser(db, key.user_name);
  return owner?.is_root === 1 && key.access_key_id === owner.name;
}

/** `2 bucket(s) (a, b) and 1 webhook(s) (wh_1 "name", bucket deleted)`, at most five of each named. */
function describeHoldings(holdings: UserHoldings): string {
  const parts: string[] = [];
  const { buckets, endpoints } = holdings;
  if (buckets.length > 0) {
    const more = buckets.length > 5 ? ', …' : '';
    parts.push(`${buckets.length} bucket(s) (${buckets.slice(0, 5).join(', ')}${more})`);
  }
  if (endpoints.length > 0) {
    const named = endpoints
      .slice(0, 5)
      .map(
        (e) => `${e.id} "${e.name}"${e.bucket === null ? ' whose bucket was deleted' : ` on ${e.bucket}`}`,
      );
    const more = endpoints.length > 5 ? ', …' : '';
    parts.push(`${endpoints.length} webhook(s) (${named.join(', ')}${more})`);
  }
  return parts.join(' and ');
}

export const userRoutes = [
  defineRoute({
    method: 'GET',
    path: '/whoami',
    operationId: 'whoAmI',
    summary: 'The caller: user, access key and role',
    tag: 'users',
    access: 'user',
    response: z.object({ userName: z.string(), accessKeyId: z.string(), role: z.enum(['admin', 'user']) }),
    handle: ({ identity }) =>
      Promise.resolve({
        userName: identity.userName,
        accessKeyId: identity.accessKeyId,
        role: identity.role,
      }),
  }),
  defineRoute({
    method: 'POST',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a user with a first access key (the secret key is returned once)',
    tag: 'users',
    access: 'admin',
    status: 201,
    body: z.object({ name: userName, role: z.enum(['admin', 'user']).default('user') }).strict(),
    response: z.object({ user: userView, accessKey: newKeyView }),
    handle: async ({ body, services }) => {
      const now = services.now();
      const accessKeyId = generateAccessKeyId();
      const secretKey = generateSecretKey();
      const db = services.database.db;
      await db.transaction().execute(async (tx) => {
        if (
          (await findUser(tx, body.name)) !== undefined ||
          (await findAccessKey(tx, body.name)) !== undefined
        ) {
          throw new ApiError('CONFLICT', `A user or access key named ${body.name} already exists.`);
        }
        await insertUser(tx, {
          name: body.name,
          role: body.role,
          status: 'enabled',
          is_root: 0,
          created_at: now,
        });
        await insertAccessKey(tx, {
          access_key_id: accessKeyId,
          user_name: body.name,
          secret_ciphertext: services.secretBox.seal(secretKey),
          status: 'enabled',
          description: null,
          created_at: now,
        });
      });
      services.logger.info({ user: body.name, role: body.role, accessKeyId }, 'user created');
      const user = await requireUser(db, body.name);
      const key = (await findAccessKey(db, accessKeyId))!;
      return { user: toUserView(user), accessKey: { ...toKeyView(key), secretKey } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'List users',
    tag: 'users',
    access: 'admin',
    response: z.object({ users: z.array(userView) }),
    handle: async ({ services }) => ({ users: (await listUsers(services.database.db)).map(toUserView) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/users/{name}',
    operationId: 'getUser',
    summary: 'One user and its access keys',
    tag: 'users',
    access: 'admin',
    params: z.object({ name: z.string() }),
    response: z.object({ user: userView, accessKeys: z.array(keyView) }),
    handle: async ({ params, services }) => {
      const user = await requireUser(services.database.db, params.name);
      return {
        user: toUserView(user),
        accessKeys: (await listAccessKeys(services.database.db, user.name)).map(toKeyView),
      };
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/users/{name}',
    operationId: 'updateUser',
    summary: 'Enable or disable a user',
    tag: 'users',
    access: 'admin',
    params: z.object({ name: z.string() }),
    body: z.object({ status: z.enum(['enabled', 'disabled']) }).strict(),
    response: z.object({ user: userView }),
    handle: async ({ params, body, services }) => {
      const user = await requireUser(services.database.db, params.name);
      if (user.is_root === 1 && body.status === 'disabled')
        throw new ApiError('CONFLICT', 'The root user cannot be disabled.');
      await setUserStatus(services.database.db, user.name, body.status);
      services.credentials.forget();
      services.logger.info({ user: user.name, status: body.status }, 'user status changed');
      return { user: toUserView(await requireUser(services.database.db, user.name)) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/users/{name}',
    operationId: 'deleteUser',
    summary: 'Delete a user and its access keys (it must own no buckets and no webhooks)',
    tag: 'users',
    access: 'admin',
    status: 204,
    params: z.object({ name: z.string() }),
    response: z.undefined(),
    handle: async ({ params, services }) => {
      // The check and the deletion commit together: keys and user go at once, or nothing changes.
      const name = await services.database.commit(async (tx) => {
        const user = await requireUser(tx, params.name);
        if (user.is_root === 1) throw new ApiError('CONFLICT', 'The root user cannot be deleted.');
        const holdings = await findUserHoldings(tx, user.name);
        if (holdings.buckets.length > 0 || holdings.endpoints.length > 0) {
          throw new ApiError(
            'CONFLICT',
            `User ${user.name} still owns ${describeHoldings(holdings)}; delete them first.`,
          );
        }
        await deleteUserRow(tx, user.name);
        return user.name;
      });
      services.credentials.forget();
      services.logger.info({ user: name }, 'user deleted');
      return undefined;
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/users/{name}/keys',
    operationId: 'createAccessKey',
    summary: 'Add an access key to a user (the secret key is returned once)',
    tag: 'keys',
    access: 'admin',
    status: 201,
    params: z.object({ name: z.string() }),
    body: z.object({ description: z.string().max(256).optional() }).strict(),
    response: newKeyView,
    handle: async ({ params, body, services }) => {
      const user = await requireUser(services.database.db, params.name);
      const accessKeyId = generateAccessKeyId();
      const secretKey = generateSecretKey();
      await insertAccessKey(services.database.db, {
        access_key_id: accessKeyId,
        user_name: user.name,
        secret_ciphertext: services.secretBox.seal(secretKey),
        status: 'enabled',
        description: body.description ?? null,
        created_at: services.now(),
      });
      services.logger.info({ user: user.name, accessKeyId }, 'access key created');
      return { ...toKeyView((await findAccessKey(services.database.db, accessKeyId))!), secretKey };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/keys',
    operationId: 'listAccessKeys',
    summary: 'List access keys (of one user with ?user=)',
    tag: 'keys',
    access: 'admin',
    query: z.object({ user: z.string().optional() }),
    response: z.object({ accessKeys: z.array(keyView) }),
    handle: async ({ query, services }) => ({
      accessKeys: (await listAccessKeys(services.database.db, query.user)).map(toKeyView),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/keys/{accessKeyId}',
    operationId: 'deleteAccessKey',
    summary: 'Delete an access key',
    tag: 'keys',
    access: 'admin',
    status: 204,
    params: z.object({ accessKeyId: z.string() }),
    response: z.undefined(),
    handle: async ({ params, services, identity }) => {
      const key = await requireAccessKey(services.database.db, params.accessKeyId);
      if (await isRootOwnKey(services.database.db, key))
        throw new ApiError(
          'CONFLICT',
          "The root user's own key is set by BUCKETBELL_ROOT_USER and cannot be deleted.",
        );
      if (key.access_key_id === identity.accessKeyId)
        throw new ApiError('CONFLICT', 'You cannot delete the key this request is signed with.');
      await deleteAccessKey(services.database.db, key.access_key_id);
      services.credentials.forget(key.access_key_id);
      services.logger.info({ user: key.user_name, accessKeyId: key.access_key_id }, 'access key deleted');
      return undefined;
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/keys/{accessKeyId}',
    operationId: 'updateAccessKey',
    summary: 'Enable or disable an access key (a disabled key stops working at once)',
    tag: 'keys',
    access: 'admin',
    params: z.object({ accessKeyId: z.string() }),
    body: z.object({ status: z.enum(['enabled', 'disabled']) }).strict(),
    response: z.object({ accessKey: keyView }),
    handle: async ({ params, body, services, identity }) => {
      const db = services.database.db;
      const key = await requireAccessKey(db, params.accessKeyId);
      if (body.status === 'disabled') {
        if (await isRootOwnKey(db, key))
          throw new ApiError('CONFLICT', "The root user's own key cannot be disabled.");
        if (key.access_key_id === identity.accessKeyId)
          throw new ApiError('CONFLICT', 'You cannot disable the key this request is signed with.');
      }
      await setAccessKeyStatus(db, key.access_key_id, body.status);
      services.credentials.forget(key.access_key_id);
      services.logger.info(
        { user: key.user_name, accessKeyId: key.access_key_id, status: body.status },
        'access key status changed',
      );
      return { accessKey: toKeyView(await requireAccessKey(db, key.access_key_id)) };
    },
  }),
];
