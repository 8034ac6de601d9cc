import pino, { type Logger } from 'pino';
import { redactText } from './db/redact.ts';

/**
 * JSON logs on stderr (stdout is for command output), pretty in a terminal.
 * Every message passes through redactText, so a connection string quoted by a
 * driver error cannot leak its password.
 */
export function createLogger(level = process.env.BELLOWS_LOG_LEVEL ?? 'warn'): Logger {
  const pretty = process.stderr.isTTY && !process.env.BELLOWS_LOG_JSON;
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
    pretty ? pino.transport({ target: 'pino-pretty', options: { destination: 2 } }) : pino.destination(2),
  );
}

export type { Logger };
