import pino, { type Logger } from 'pino';
import { redactText } from './db/redact.ts';

/**
 * JSON logs on stderr (stdout is for command output), pretty in a terminal.
 * Every message passes through redactText, so a connection string quoted by a
 * driver error cannot leak its password.
 */
export function createLogger(level = process.env.BELLOWS_LOG_LEVEL ?? 'warn', file = process.env.BELLOWS_LOG_FILE): Logger {
  const pretty = !file && process.stderr.isTTY && !process.env.BELLOWS_LOG_JSON;
  return pino(
    {
      level,
      base: undefined,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>);
        },
      },
      formatters: { log: (obj) => JSON.parse(redactText(JSON.stringify(obj))) },
    },
    pretty ? pino.transport({ target: 'pino-pretty', options: { destination: 2 } }) : pino.destination(file ? { dest: file, append: true, mkdir: true } : 2),
  );
}

/**
 * The log of an operator command (start, tune, rollback…): its terminal gets one
 * sentence per message and never a JSON line, so the log goes to BELLOWS_LOG_FILE,
 * or to stderr only when BELLOWS_LOG_LEVEL asks for it; otherwise what matters
 * is already in the state store's event log. A worker is a daemon: its stderr
 * is its log (createLogger).
 */
export function commandLogger(): Logger {
  if (process.env.BELLOWS_LOG_FILE || process.env.BELLOWS_LOG_LEVEL) return createLogger();
  return pino({ level: 'silent' });
}

export type { Logger };
