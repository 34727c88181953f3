import { ConfigError } from './config-error.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `10s`, `5m`, `1h`, `7d` (or a plain number of milliseconds) into milliseconds. */
export function parseDuration(key: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new ConfigError(key, `"${text}" is not a duration like 500ms, 10s, 5m, 1h or 7d`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}
