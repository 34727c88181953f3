import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; pretty when stdout is a terminal. Secrets never reach a log: callers pass ids, not keys. */
export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  return pino({
    level,
    base: { service: 'bucketbell' },
    redact: {
      paths: ['secret', '*.secret', 'secretKey', '*.secretKey', 'authorization', '*.authorization'],
      censor: '***',
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
