import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, stepsFor, tableState, expandAndBackfill } from '../helpers/lifecycle.ts';
import { RunFailedError } from '../../src/errors.ts';
import { VerifyMismatchError } from '../../src/verify/verify-range.ts';

/**
 * Contract is the one destructive phase: it must refuse unless this run's
 * backfill finished and verify passed after it, and then change nothing. Verify
 * must catch a row whose new representation is wrong, name it, and stop the run.
 */

let db: TestDatabase;
let tables = 0;

beforeAll(async () => {
  db = await freshDatabase();
});

/** A fresh table and an opened run of an alter_column on it. */
async function setup(rows = 800) {
  const n = ++tables;
  const table = `cv${n}`;
  await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, email text NOT NULL, note text)`);
  await db.query(`INSERT INTO ${table} (email, note) SELECT 'User' || g || '@Example.COM', 'n' || g FROM generate_series(1, ${rows}) g`);
  await db.query(`ANALYZE ${table}`);
  const engine = engineFor(db.pool);
  const doc = {
    name: `cv_${n}`,
    settings: SMALL_BATCHES,
    operations: [{ alter_column: { table, column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
  };
  const run = await engine.open(doc);
  return { table, qualified: `public.${table}`, engine, run, doc };
}

interface RunUnderTest {
  qualified: string;
  engine: ReturnType<typeof engineFor>;
  run: { id: string };
  doc: { name: string };
}

async function expectContractRefused(ctx: RunUnderTest, reason: RegExp): Promise<void> {
  const steps = stepsFor(ctx.engine.store, db.pool);
  const before = await tableState(db.pool, ctx.qualified);
  const runBefore = await ctx.engine.store.getRun(ctx.run.id);
  const err = await steps.contract(ctx.run.id).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunFailedError);
  expect((err as Error).message).toMatch(/contract refused/);
  expect((err as Error).message).toMatch(reason);
  expect(await tableState(db.pool, ctx.qualified)).toEqual(before);
  const runAfter = await ctx.engine.store.getRun(ctx.run.id);
  expect({ phase: runAfter.phase, status: runAfter.status }).toEqual({ phase: runBefore.phase, status: runBefore.status });
  expect((await ctx.engine.store.history()).map((h) => h.playbookName)).not.toContain(ctx.doc.name);
}

async function corrupt(table: string, id: number, value: string) {
  // The backfill's marker makes the trigger step aside, as it does for the backfill itself.
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL bellows.backfill = 'on'`);
    await client.query(`UPDATE ${table} SET _bellows_new_email = $2 WHERE id = $1`, [id, value]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

describe('contract refuses', () => {
  it('before any backfill', async () => {
    const ctx = await setup();
    const steps = stepsFor(ctx.engine.store, db.pool);
    await steps.expand(ctx.run.id);
    await steps.dualWrite(ctx.run.id);
    await expectContractRefused(ctx, /the backfill has not finished/);
  });

  it('while the backfill is half done', async () => {
    const ctx = await setup();
    const controller = new AbortController();
    const steps = stepsFor(ctx.engine.store, db.pool, { signal: controller.signal, onBatch: () => controller.abort() });
    await steps.expand(ctx.run.id);
    await steps.dualWrite(ctx.run.id);
    const [ref] = await steps.prepareBackfill(ctx.run.id);
    expect(await steps.walkRange(ctx.run.id, ref)).toBe('stopped');
    const [range] = await ctx.engine.store.getRanges(ctx.run.id, 'backfill');
    expect(range.done).toBe(false);
    await expectContractRefused(ctx, /the backfill has not finished/);
    // finishBackfill refuses too, so the gate cannot be reached by skipping ranges
    await expect(steps.finishBackfill(ctx.run.id)).rejects.toThrow(/backfill is not finished/);
  });

  it('after the backfill, before verify', async () => {
    const ctx = await setup();
    const steps = stepsFor(ctx.engine.store, db.pool);
    await expandAndBackfill(steps, ctx.run.id);
    await expectContractRefused(ctx, /verify has not passed since the backfill/);
  });

  it('when the backfill finished again after verify passed', async () => {
    const ctx = await setup();
    expect(await ctx.engine.executor.drive(ctx.run, { stopAtGate: true })).toBe('awaiting_approval');
    await ctx.engine.store.markTimestamp(ctx.run.id, 'backfill_done_at');
    await expectContractRefused(ctx, /verify has not passed since the backfill/);
  });

  it('while a new verify is in progress, even though an earlier one passed', async () => {
    const ctx = await setup();
    expect(await ctx.engine.executor.drive(ctx.run, { stopAtGate: true })).toBe('awaiting_approval');
    await stepsFor(ctx.engine.store, db.pool).prepareVerify(ctx.run.id);
    await expectContractRefused(ctx, /verify has not passed since the backfill/);
  });

  it('after a rollback, even though verify had passed', async () => {
    const ctx = await setup();
    const original = await tableState(db.pool, ctx.qualified);
    expect(await ctx.engine.executor.drive(ctx.run, { stopAtGate: true })).toBe('awaiting_approval');
    await stepsFor(ctx.engine.store, db.pool).rollback(ctx.run.id);
    await expectContractRefused(ctx, /rolled back/);
    expect(await tableState(db.pool, ctx.qualified)).toEqual(original);
  });

  it('once a rollback was asked for, before the executor has run it', async () => {
    const ctx = await setup();
    expect(await ctx.engine.executor.drive(ctx.run, { stopAtGate: true })).toBe('awaiting_approval');
    await ctx.engine.store.setDesired(ctx.run.id, { approved: true }, 'approve');
    await ctx.engine.store.setDesired(ctx.run.id, { abort: true }, 'rollback');
    await expectContractRefused(ctx, /is being rolled back/);
  });

  it('a drop_column after its rollback: the column and its data stay', async () => {
    await db.query(`CREATE TABLE cvdrop (id bigserial PRIMARY KEY, name text, legacy text)`);
    await db.query(`INSERT INTO cvdrop (name, legacy) SELECT 'n' || g, 'keep me ' || g FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const original = await tableState(db.pool, 'public.cvdrop');
    const doc = { name: 'cv_drop', settings: SMALL_BATCHES, operations: [{ drop_column: { table: 'cvdrop', column: 'legacy' } }] };
    const run = await engine.open(doc);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await stepsFor(engine.store, db.pool).rollback(run.id);
    await expectContractRefused({ qualified: 'public.cvdrop', engine, run, doc }, /was rolled back/);
    expect(await tableState(db.pool, 'public.cvdrop')).toEqual(original);
  });
});

describe('contract under lock contention', () => {
  it('gives up on a lock it cannot get, changes nothing, and succeeds once the lock is free', async () => {
    await db.query(`CREATE TABLE cvlock (id bigserial PRIMARY KEY, email text NOT NULL)`);
    await db.query(`INSERT INTO cvlock (email) SELECT 'L' || g || '@X.COM' FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const doc = {
      name: 'cv_lock',
      settings: { ...SMALL_BATCHES, lockTimeoutMs: 50, retries: 1 },
      operations: [{ alter_column: { table: 'cvlock', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    };
    const run = await engine.open(doc);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    const atGate = await tableState(db.pool, 'public.cvlock');

    // a long reader: its ACCESS SHARE lock blocks contract's ACCESS EXCLUSIVE
    const reader = await db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM cvlock');
      const steps = stepsFor(engine.store, db.pool);
      await expect(steps.contract(run.id)).rejects.toMatchObject({ code: '55P03' });
      expect(await tableState(db.pool, 'public.cvlock')).toEqual(atGate);
      expect((await engine.store.history()).map((h) => h.playbookName)).not.toContain('cv_lock');
      await reader.query('COMMIT');
      await steps.contract(run.id);
    } finally {
      reader.release();
    }
    expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'done', status: 'completed' });
    expect((await engine.store.history()).map((h) => h.playbookName)).toContain('cv_lock');
    const events = await engine.store.events(run.id);
    expect(events.some((e) => e.kind === 'phase' && e.detail.to === 'done')).toBe(true);
  });
});

describe('rollback', () => {
  it('refuses once contract has completed, and changes nothing', async () => {
    const ctx = await setup(200);
    await ctx.engine.runToEnd(ctx.doc);
    const after = await tableState(db.pool, ctx.qualified);
    await expect(stepsFor(ctx.engine.store, db.pool).rollback(ctx.run.id)).rejects.toThrow(/contract is final/);
    expect(await tableState(db.pool, ctx.qualified)).toEqual(after);
    expect(await ctx.engine.store.getRun(ctx.run.id)).toMatchObject({ phase: 'done', status: 'completed' });
  });
});

describe('verify', () => {
  it('stops the run on a shadow value written wrong, naming the key and both values', async () => {
    const ctx = await setup();
    const steps = stepsFor(ctx.engine.store, db.pool);
    await expandAndBackfill(steps, ctx.run.id);
    await corrupt(ctx.table, 517, 'someone.else@example.com');

    const err = await ctx.engine.executor.drive(await ctx.engine.store.getRun(ctx.run.id), { stopAtGate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VerifyMismatchError);
    const message = (err as Error).message;
    expect(message).toContain(`verify failed on public.${ctx.table}`);
    expect(message).toContain('key 517');
    expect(message).toContain('"someone.else@example.com"');
    expect(message).toContain('"user517@example.com"');
    const run = await ctx.engine.store.getRun(ctx.run.id);
    expect(run).toMatchObject({ phase: 'verify', status: 'failed', verifiedAt: null });
    expect(run.error).toContain('key 517');
    await expectContractRefused(ctx, /verify has not passed/);
  });

  it('catches rows the old application wrote while the trigger was off', async () => {
    const ctx = await setup();
    const steps = stepsFor(ctx.engine.store, db.pool);
    await expandAndBackfill(steps, ctx.run.id);
    await db.query(`ALTER TABLE ${ctx.table} DISABLE TRIGGER USER`);
    await db.query(`UPDATE ${ctx.table} SET email = 'Changed@Example.COM' WHERE id = 33`);
    await db.query(`ALTER TABLE ${ctx.table} ENABLE TRIGGER USER`);

    const verify = await steps.prepareVerify(ctx.run.id);
    const err = await steps.walkRange(ctx.run.id, verify[0]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VerifyMismatchError);
    expect((err as Error).message).toMatch(/key 33: .*"user33@example.com" expected "changed@example.com"/);
    await expectContractRefused(ctx, /verify has not passed/);
  });

  it('a NOT NULL add_column whose up leaves rows without a value stops in verify, naming them, and rolls back clean', async () => {
    await db.query(`CREATE TABLE cvnn (id int PRIMARY KEY, nick text)`);
    await db.query(`INSERT INTO cvnn SELECT g, CASE WHEN g IN (77, 78) THEN NULL ELSE 'k' || g END FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const original = await tableState(db.pool, 'public.cvnn');
    const run = await engine.open({ name: 'cv_nn', settings: SMALL_BATCHES, operations: [{ add_column: { table: 'cvnn', name: 'handle', type: 'text', nullable: false, up: 'upper(nick)' } }] });
    const err = await engine.executor.drive(run, { stopAtGate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    // The CHECK comes only at verify (a failed translation must not fail a write), so verify finds the rows.
    expect(err).toBeInstanceOf(VerifyMismatchError);
    expect((err as Error).message).toMatch(/key 77: handle=null expected "NOT NULL"; key 78/);
    expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'verify', status: 'failed', verifiedAt: null });
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await tableState(db.pool, 'public.cvnn')).toEqual(original);
  });

  it('passes on a correct table and reports how many rows it checked', async () => {
    const ctx = await setup(650);
    expect(await ctx.engine.executor.drive(ctx.run, { stopAtGate: true })).toBe('awaiting_approval');
    const verified = (await ctx.engine.store.events(ctx.run.id)).find((e) => e.kind === 'verified');
    expect(verified?.detail).toEqual({ rows: 650 });
  });
});
