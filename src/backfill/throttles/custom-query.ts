import type pg from 'pg';
import type { Throttle } from './throttle.ts';

/** SQL's idea of truth, for a first column of any type. */
function truthy(value: unknown): boolean {
  return !(value === undefined || value === null || value === false || value === 0 || value === '0' || value === 'f' || value === '' || value === 'false');
}

/** The operator's own rule: any SQL whose first column is truthy while the backfill must wait. */
export const customQueryThrottle: Throttle = {
  name: 'throttle query',
  enabled: (s) => Boolean(s.throttleQuery),
  probe: ({ db }) => ({
    async check(settings) {
      const { rows } = await db.query({ text: settings.throttleQuery!, queryMode: 'extended', rowMode: 'array' } as pg.QueryConfig);
      const value = (rows[0] as unknown[] | undefined)?.[0];
      return truthy(value) ? `throttle query returned ${JSON.stringify(value)}` : null;
    },
  }),
};
