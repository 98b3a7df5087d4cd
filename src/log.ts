// The one root logger. Logs go to stderr (stdout carries violations as JSON
// lines); readable on a terminal, JSON lines otherwise. Modules take
// `log.child({ component })`.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(opts: { level?: LogLevel; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? 'info';
  const usePretty = opts.pretty ?? process.stderr.isTTY === true;
  if (usePretty) {
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
