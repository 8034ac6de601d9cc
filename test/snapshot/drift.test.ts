import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, playbookPath, runCli, stderrLines } from '../helpers/cli.ts';
import { applyPlaybook } from './apply.ts';

/**
 * `bellows drift` as CI runs it: nothing to compare with is bad input (2); after
 * a clean run nothing is found (0); changes made by hand outside bellows are
 * named object by object (1).
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 300);
});

describe('bellows drift', () => {
  it('before any playbook was applied: exit 2, one line saying there is no snapshot yet, and no state made', async () => {
    const r = await runCli(['drift'], { db: db.url });
    expect(r.code, show(r)).toBe(2);
    expect(stderrLines(r)).toEqual([expect.stringMatching(/^bellows: drift: no snapshot yet/)]);
    const state = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'bellows'`);
    expect(state.rowCount).toBe(0);
  });

  it('after a clean run: the snapshot is kept, and nothing is found (exit 0)', async () => {
    await applyPlaybook(db.url, '0004_users_created_at_index.yaml');
    const kept = await db.query(`SELECT playbook_name FROM bellows.snapshots`);
    expect(kept.rows).toEqual([{ playbook_name: '0004_users_created_at_index' }]);
    const r = await runCli(['drift'], { db: db.url });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('compared with the snapshot of playbook 0004_users_created_at_index');
    expect(r.stdout).toContain('no drift');
  });

  it('a column added and an index dropped by hand are each named (exit 1)', async () => {
    await db.query(`ALTER TABLE users ADD COLUMN nickname text`);
    await db.query(`DROP INDEX users_created_at_idx`);
    const r = await runCli(['drift'], { db: db.url });
    expect(r.code, show(r)).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('  warning  column public.users.nickname: added');
    expect(lines).toContain('  error    index public.users_created_at_idx: removed');
    expect(lines).toContain('2 difference(s) made outside bellows (1 error, 1 warning):');
    expect(stderrLines(r)).toEqual(['bellows: drift: 2 difference(s) at or above info since playbook 0004_users_created_at_index']);

    const json = await runCli(['drift', '--json'], { db: db.url });
    expect(json.code, show(json)).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.since.playbook).toBe('0004_users_created_at_index');
    expect(report.differences).toEqual([
      { kind: 'column', name: 'public.users.nickname', severity: 'warning', change: 'added', attributes: expect.objectContaining({ type: 'text', notNull: false }) },
      {
        kind: 'index',
        name: 'public.users_created_at_idx',
        severity: 'error',
        change: 'removed',
        attributes: expect.objectContaining({ definition: 'CREATE INDEX users_created_at_idx ON public.users USING btree (created_at)' }),
      },
    ]);
  });

  it('a changed attribute is reported with its value before and after', async () => {
    await db.query(`ALTER TABLE users ALTER COLUMN nickname SET DEFAULT 'anon'`);
    const r = await runCli(['drift', '--json'], { db: db.url });
    expect(r.code, show(r)).toBe(1);
    // The column was added after the snapshot: still one added object, now with its default.
    expect(JSON.parse(r.stdout).differences[0]).toMatchObject({ name: 'public.users.nickname', change: 'added', attributes: { default: "'anon'::text" } });
    await db.query(`ALTER TABLE users ALTER COLUMN email SET DEFAULT ''`);
    const changed = JSON.parse((await runCli(['drift', '--json'], { db: db.url })).stdout).differences;
    expect(changed).toContainEqual({ kind: 'column', name: 'public.users.email', severity: 'warning', change: 'changed', attribute: 'default', before: null, after: "''::text" });
    await db.query(`ALTER TABLE users ALTER COLUMN email DROP DEFAULT`);
  });

  it('while a run waits between expand and contract: exit 2, naming the run; once it completes its snapshot is the reference and nothing is found', async () => {
    const started = await runCli(['start', playbookPath('0002_users_add_plan.yaml'), '--no-progress'], { db: db.url });
    const id = /run (\d+) started/.exec(started.stdout)?.[1];
    expect(id, show(started)).toBeDefined();
    const during = await runCli(['drift'], { db: db.url });
    expect(during.code, show(during)).toBe(2);
    expect(stderrLines(during)).toEqual([`bellows: drift: run ${id} (0002_users_add_plan) is between expand and contract, so its changes would read as drift; measure drift once it completes or rolls back`]);
    const approved = await runCli(['approve', id!], { db: db.url });
    expect(approved.stdout, show(approved)).toContain(`run ${id} completed`);
    const r = await runCli(['drift'], { db: db.url });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('compared with the snapshot of playbook 0002_users_add_plan');
    expect(r.stdout).toContain('no drift');
  });

  describe('--fail-on (the snapshot of 0002_users_add_plan is the reference)', () => {
    it('a comment changed by hand is info: exit 0 at warning, 1 at info (the default)', async () => {
      await db.query(`COMMENT ON COLUMN users.email IS 'where we write'`);
      const atWarning = await runCli(['drift', '--fail-on', 'warning'], { db: db.url });
      expect(atWarning.code, show(atWarning)).toBe(0);
      expect(atWarning.stdout.trim().split('\n')).toContain('  info     column public.users.email: comment changed: (none) → where we write');
      const atInfo = await runCli(['drift', '--fail-on', 'info'], { db: db.url });
      expect(atInfo.code, show(atInfo)).toBe(1);
      expect(stderrLines(atInfo)).toEqual(['bellows: drift: 1 difference(s) at or above info since playbook 0002_users_add_plan']);
      expect((await runCli(['drift'], { db: db.url })).code).toBe(1);
    });

    it('a column dropped by hand is an error: exit 1 at error; none reports it and exits 0', async () => {
      await db.query(`ALTER TABLE users DROP COLUMN nickname`);
      const atError = await runCli(['drift', '--fail-on', 'error', '--json'], { db: db.url });
      expect(atError.code, show(atError)).toBe(1);
      expect(JSON.parse(atError.stdout).differences).toContainEqual(expect.objectContaining({ name: 'public.users.nickname', change: 'removed', severity: 'error' }));
      expect(stderrLines(atError)).toEqual(['bellows: drift: 1 difference(s) at or above error since playbook 0002_users_add_plan']);
      const none = await runCli(['drift', '--fail-on', 'none'], { db: db.url });
      expect(none.code, show(none)).toBe(0);
      expect(none.stdout).toContain('2 difference(s) made outside bellows (1 error, 1 info):');
    });

    it('a level that does not exist: exit 2, one line naming the levels', async () => {
      const r = await runCli(['drift', '--fail-on', 'fatal'], { db: db.url });
      expect(r.code, show(r)).toBe(2);
      expect(stderrLines(r)).toEqual(['bellows: drift: --fail-on must be one of error, warning, info, none, not "fatal"']);
    });
  });
});
