import { ConfigError } from './config-error.ts';

export interface ListenAddress {
  /** undefined means every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses `HOST:PORT`, `:PORT` or `[v6]:PORT`. */
export function parseListenAddress(key: string, text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(key, `"${text}" is not HOST:PORT (for example 127.0.0.1:9000 or :9000)`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' || host === undefined ? undefined : host, port };
}

export function formatListenAddress(address: ListenAddress): string {
  const host = address.host ?? '0.0.0.0';
  return `${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
