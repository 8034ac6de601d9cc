import { expect, it } from 'vitest';
import { freshDatabase } from '../helpers/db.ts';

// Run only by .ci/run (BELLOWS_CANARY=1): it must fail, and vitest must then exit
// non-zero. It takes a database so that the setup, clean-ups and teardown all run.
it('fails on purpose, so that CI proves a failing test fails the run', async () => {
  const db = await freshDatabase();
  const { rows } = await db.query('SELECT 1 AS one');
  expect(rows[0].one).toBe(2);
});
