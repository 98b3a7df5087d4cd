// The one root logger. Logs go to stderr (stdout carries violations); JSON
// lines for the journal and pipes, one short line per record on a terminal
// ("12:00:01 WARN message", an error's message appended; the structured
// fields stay in the JSON form). Modules take `log.child({ component })`.
//
// The terminal check uses isatty(2), not process.stderr: touching
// process.stderr switches a pipe to non-blocking mode, and a synchronous
// writer then sleeps whenever the pipe is full (seconds at start-up with
// thousands of rules). JSON lines are written asynchronously; the process
// ends by returning from main, never by process.exit, so nothing is lost.
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[2m'],
  20: ['DEBUG', '\x1b[2m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[41;97m'],
};

/** One log record (a pino JSON line) as one line for a person. */
export function terminalLine(json: string, color: boolean): string {
  let r: { level?: number; time?: number; msg?: string; err?: { message?: string } | string };
  try {
    r = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const d = new Date(r.time ?? Date.now());
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const [name, paint] = LEVELS[r.level ?? 30] ?? ['INFO ', ''];
  const err = typeof r.err === 'string' ? r.err : r.err?.message;
  const msg = `${r.msg ?? ''}${err && !(r.msg ?? '').includes(err) ? `: ${err}` : ''}`;
  return color ? `\x1b[2m${time}\x1b[0m ${paint}${name}\x1b[0m ${msg}\n` : `${time} ${name} ${msg}\n`;
}

export function createLogger(opts: { level?: LogLevel; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? 'info';
  const tty = isatty(2);
  if (opts.pretty ?? tty) {
    const color = tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
    return pino({ level }, { write: (line: string) => void writeSync(2, terminalLine(line, color)) });
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
