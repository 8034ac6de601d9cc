import { functionCalls } from './parser.ts';
import type { LiveFacts } from './rule.ts';

/**
 * Without a database: the volatile functions of PostgreSQL and its common
 * extensions that a value expression or a default is likely to call. With one,
 * pg_proc.provolatile decides, which also knows the user's own functions.
 */
export const KNOWN_VOLATILE = new Set([
  'random',
  'random_normal',
  'setseed',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'nextval',
  'txid_current',
  'pg_current_xact_id',
]);

/** The functions `tree` calls that are volatile, as the database says, or as the list above does without one. */
export async function volatileCalls(tree: unknown, live?: LiveFacts): Promise<string[]> {
  const found: string[] = [];
  for (const name of new Set(functionCalls(tree))) {
    const volatile = live ? ((await live.volatile(name)) ?? KNOWN_VOLATILE.has(name)) : KNOWN_VOLATILE.has(name);
    if (volatile) found.push(name);
  }
  return found;
}
