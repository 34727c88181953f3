import { ConfigError } from './config-error.ts';

/** Replaces `${NAME}` (and `${NAME:-default}`) with the environment's value; `$${` escapes. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(
    /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (whole, escaped, name: string, def) => {
      if (escaped !== undefined) return whole.slice(1);
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (typeof def === 'string') return def;
      throw new ConfigError('config', `environment variable ${name} is not set`);
    },
  );
}
