// The one root logger. Logs go to stderr (stdout carries violations as JSON
// lines); readable on a terminal, JSON lines otherwise. Modules take
// `log.child({ component })`.
//
// The terminal check uses isatty(2), not process.stderr: touching
// process.stderr switches a pipe to non-blocking mode, and a synchronous
// writer then sleeps whenever the pipe is full (seconds at start-up with
// thousands of rules). JSON lines are written asynchronously; the process
// ends by returning from main, never by process.exit, so nothing is lost.
import { isatty } from 'node:tty';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(opts: { level?: LogLevel; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? 'info';
  const usePretty = opts.pretty ?? isatty(2);
  if (usePretty) {
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
