import {
  CONNECTION_HELP,
  requirePositional,
  runAdminCommand,
  table,
  UsageError,
  type SubCommand,
} from './admin-command.ts';

interface UserView {
  name: string;
  role: string;
  status: string;
  isRoot: boolean;
  createdAt: string;
}
interface KeyView {
  accessKeyId: string;
  userName: string;
  status: string;
  description: string | null;
  createdAt: string;
  secretKey?: string;
}

export const USER_HELP = `Usage: bucketbell user <command> [options]

Manage users (admins only).

Commands:
  add NAME [--role user|admin]   create a user and its first access key; prints the secret key once
  ls                             list users
  show NAME                      a user and its access keys
  disable NAME | enable NAME     stop or restore a user's access (its keys stop working at once)
  rm NAME                        delete a user (it must own no buckets and no webhooks)

${CONNECTION_HELP}`;

export const KEY_HELP = `Usage: bucketbell key <command> [options]

Manage access keys (admins only).

Commands:
  add USER [--description TEXT]  add an access key to a user; prints the secret key once
  ls [--user USER]               list access keys
  disable ACCESS_KEY_ID          stop one access key (it stops working at once; the user's other keys go on)
  enable ACCESS_KEY_ID           let a disabled access key work again
  rm ACCESS_KEY_ID               delete an access key

${CONNECTION_HELP}`;

function printKeyOnce(out: (t: string) => void, key: KeyView): void {
  out(
    `Access key: ${key.accessKeyId}\nSecret key: ${key.secretKey ?? ''}\n(The secret key is shown only now; store it safely.)`,
  );
}

export const userCommands: Record<string, SubCommand> = {
  add: {
    usage: 'bucketbell user add NAME [--role user|admin]',
    options: { role: { type: 'string' } },
    run: async ({ client, json, out }, positionals, values) => {
      const name = requirePositional(positionals, 0, 'NAME');
      const role = (values['role'] as string | undefined) ?? 'user';
      if (role !== 'user' && role !== 'admin') throw new UsageError('--role must be user or admin');
      const result = await client.request<{ user: UserView; accessKey: KeyView }>('POST', '/users', {
        name,
        role,
      });
      if (json) out(JSON.stringify(result, null, 2));
      else {
        out(`User ${result.user.name} (${result.user.role}) created.`);
        printKeyOnce(out, result.accessKey);
      }
    },
  },
  ls: {
    usage: 'bucketbell user ls',
    run: async ({ client, json, out }) => {
      const { users } = await client.request<{ users: UserView[] }>('GET', '/users');
      out(
        json
          ? JSON.stringify(users, null, 2)
          : table(
              ['NAME', 'ROLE', 'STATUS', 'ROOT', 'CREATED'],
              users.map((u) => [u.name, u.role, u.status, u.isRoot ? 'yes' : '', u.createdAt]),
            ),
      );
    },
  },
  show: {
    usage: 'bucketbell user show NAME',
    run: async ({ client, json, out }, positionals) => {
      const name = requirePositional(positionals, 0, 'NAME');
      const result = await client.request<{ user: UserView; accessKeys: KeyView[] }>(
        'GET',
        `/users/${encodeURIComponent(name)}`,
      );
      if (json) out(JSON.stringify(result, null, 2));
      else {
        out(
          `${result.user.name}  role=${result.user.role}  status=${result.user.status}${result.user.isRoot ? '  root' : ''}`,
        );
        out(
          table(
            ['ACCESS KEY', 'STATUS', 'DESCRIPTION', 'CREATED'],
            result.accessKeys.map((k) => [k.accessKeyId, k.status, k.description, k.createdAt]),
          ),
        );
      }
    },
  },
  disable: {
    usage: 'bucketbell user disable NAME',
    run: async ({ client, json, out }, positionals) => {
      const name = requirePositional(positionals, 0, 'NAME');
      const result = await client.request<{ user: UserView }>('PATCH', `/users/${encodeURIComponent(name)}`, {
        status: 'disabled',
      });
      out(json ? JSON.stringify(result, null, 2) : `User ${name} disabled.`);
    },
  },
  enable: {
    usage: 'bucketbell user enable NAME',
    run: async ({ client, json, out }, positionals) => {
      const name = requirePositional(positionals, 0, 'NAME');
      const result = await client.request<{ user: UserView }>('PATCH', `/users/${encodeURIComponent(name)}`, {
        status: 'enabled',
      });
      out(json ? JSON.stringify(result, null, 2) : `User ${name} enabled.`);
    },
  },
  rm: {
    usage: 'bucketbell user rm NAME',
    run: async ({ client, json, out }, positionals) => {
      const name = requirePositional(positionals, 0, 'NAME');
      await client.request('DELETE', `/users/${encodeURIComponent(name)}`);
      out(json ? JSON.stringify({ deleted: name }) : `User ${name} deleted.`);
    },
  },
};

/** `key disable ID` / `key enable ID`. */
function keyStatusCommand(status: 'enabled' | 'disabled'): SubCommand {
  const verb = status === 'enabled' ? 'enable' : 'disable';
  return {
    usage: `bucketbell key ${verb} ACCESS_KEY_ID`,
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ACCESS_KEY_ID');
      const result = await client.request<{ accessKey: KeyView }>(
        'PATCH',
        `/keys/${encodeURIComponent(id)}`,
        {
          status,
        },
      );
      out(json ? JSON.stringify(result, null, 2) : `Access key ${id} ${status}.`);
    },
  };
}

export const keyCommands: Record<string, SubCommand> = {
  add: {
    usage: 'bucketbell key add USER [--description TEXT]',
    options: { description: { type: 'string' } },
    run: async ({ client, json, out }, positionals, values) => {
      const user = requirePositional(positionals, 0, 'USER');
      const description = values['description'] as string | undefined;
      const key = await client.request<KeyView>(
        'POST',
        `/users/${encodeURIComponent(user)}/keys`,
        description === undefined ? {} : { description },
      );
      if (json) out(JSON.stringify(key, null, 2));
      else printKeyOnce(out, key);
    },
  },
  ls: {
    usage: 'bucketbell key ls [--user USER]',
    options: { user: { type: 'string' } },
    run: async ({ client, json, out }, _positionals, values) => {
      const { accessKeys } = await client.request<{ accessKeys: KeyView[] }>('GET', '/keys', undefined, {
        user: values['user'] as string | undefined,
      });
      out(
        json
          ? JSON.stringify(accessKeys, null, 2)
          : table(
              ['ACCESS KEY', 'USER', 'STATUS', 'DESCRIPTION', 'CREATED'],
              accessKeys.map((k) => [k.accessKeyId, k.userName, k.status, k.description, k.createdAt]),
            ),
      );
    },
  },
  disable: keyStatusCommand('disabled'),
  enable: keyStatusCommand('enabled'),
  rm: {
    usage: 'bucketbell key rm ACCESS_KEY_ID',
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ACCESS_KEY_ID');
      await client.request('DELETE', `/keys/${encodeURIComponent(id)}`);
      out(json ? JSON.stringify({ deleted: id }) : `Access key ${id} deleted.`);
    },
  },
};

export function runUser(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runAdminCommand('user', USER_HELP, userCommands, args, env);
}

export function runKey(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runAdminCommand('key', KEY_HELP, keyCommands, args, env);
}
