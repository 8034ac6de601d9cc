import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { redactText } from '../db/redact.ts';
import { ConflictError, EnvironmentError, InputError, NotFoundError, RunFailedError, isBellowsError } from '../errors.ts';
import { isUnreachable } from '../db/sqlstate.ts';
import { printableLine } from '../util/printable.ts';

/**
 * The one place the operator API's errors become HTTP statuses, as main.ts
 * makes them exit codes: the message is the CLI's, without its `bellows: `.
 * A finished or running-elsewhere run is a conflict, as is a run that stopped
 * (RunFailedError): the request was understood, the run's state refuses it. A
 * database that cannot be reached now is 503, as /readyz says; anything else is a bug.
 */
export function httpError(err: unknown): { status: ContentfulStatusCode; error: string } {
  const message = printableLine(redactText(err instanceof Error ? err.message : String(err)), 300);
  if (err instanceof NotFoundError) return { status: 404, error: message };
  if (err instanceof InputError) return { status: 400, error: message };
  if (err instanceof ConflictError || err instanceof RunFailedError) return { status: 409, error: message };
  if (err instanceof EnvironmentError) return { status: 503, error: message };
  if (isBellowsError(err)) return { status: 500, error: message };
  if (isUnreachable(err)) return { status: 503, error: `the target database cannot be reached now: ${message}` };
  return { status: 500, error: 'internal error; see the server log' };
}
