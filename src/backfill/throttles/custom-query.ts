import type pg from 'pg';
import type { Throttle } from './throttle.ts';

/** The operator's own rule: any SQL whose first column is truthy while the backfill must wait. */
export const customQueryThrottle: Throttle = {
  name: 'throttle query',
  enabled: (s) => Boolean(s.throttleQuery),
  async check({ db, settings }) {
    const { rows } = await db.query({ text: settings.throttleQuery!, queryMode: 'extended', rowMode: 'array' } as pg.QueryConfig);
    const value = (rows[0] as unknown[] | undefined)?.[0];
    const truthy = value !== undefined && value !== null && value !== false && value !== 0 && value !== '0' && value !== 'f' && value !== '';
    return truthy ? `throttle query returned ${JSON.stringify(value)}` : null;
  },
};
