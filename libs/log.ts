import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (pino); one child logger per service or component. */
export function createLogger(name: string, level = process.env.AIDE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: name } });
}
