import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { exampleRuns } from '../helpers/example-runs.ts';
import { testRole } from '../helpers/roles.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { catalogSnapshot, playbookPath, scratchDir, tableDigest } from '../helpers/cli.ts';

/**
 * The example playbooks written for the demo's table as `bellows demo` makes it
 * (0010–0026, 0029: they use users.name, which 0003 in playbooks.test.ts renames),
 * one after the other on one database, through the CLI: start → gate, where the old
 * and the new version are checked → approve → contract, then the schema and the rows
 * by catalog queries. Those whose rollback no other test runs are first rolled back
 * from the gate (in this process: see rollbackAtGate), to exactly the catalog and rows
 * they started from, and run again.
 */

const ROWS = 200;
let db: TestDatabase;
let runs: ReturnType<typeof exampleRuns>;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  // The state store's own tables, made by the first run, would otherwise count as left behind by the first rollback.
  await engineFor(db.pool).store.migrate();
  runs = exampleRuns(db);
});

const rowsOf = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows;
const one = async (sql: string, params: unknown[] = []) => (await rowsOf(sql, params))[0];

/** What a rollback must give back: the catalog and the users' rows. */
const state = async () => ({ catalog: await catalogSnapshot(db.pool), users: await tableDigest(db.pool, 'users') });

/** start → gate → rollback: everything as before; `alsoSame` reads what the catalog snapshot does not hold (bodies, privileges). */
async function rolledBackFromGate(file: string, alsoSame: () => Promise<unknown> = async () => null): Promise<void> {
  const before = { ...(await state()), extra: await alsoSame() };
  await runs.rollbackAtGate(file);
  expect({ ...(await state()), extra: await alsoSame() }).toEqual(before);
}

/**
 * Runs `sql` in a transaction that is rolled back, so a probing write leaves nothing behind;
 * with `version`, as the new application does (its version schema first on search_path).
 */
async function tryWrite(sql: string, version?: string): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    if (version) await client.query(`SELECT set_config('search_path', $1, true)`, [`"${version}", public`]);
    await client.query(sql);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const constraint = (name: string) =>
  one(`SELECT pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = 'public.users'::regclass AND conname = $1`, [name]);
const columnsOf = async (relation: string) =>
  (await rowsOf(`SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [relation])).map((r) => r.attname);
const enumLabels = async (type: string) => (await one(`SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l FROM pg_enum WHERE enumtypid = to_regtype($1)`, [type])).l;
const localPart = async () => (await one(`SELECT public.email_local_part('Ann.Lee@Example.org') AS v`)).v;

describe('the example playbooks on the demo shape, end to end through the CLI', () => {
  it('0010 adds the email check, 0011 renames it, 0012 drops it: each rolled back from the gate first', async () => {
    await rolledBackFromGate('0010_users_email_check.yaml');
    await runs.startAndApprove('0010_users_email_check.yaml', async () => {
      // Checked from expand on, validated by verify: both applications' writes must satisfy it.
      expect(await constraint('users_email_has_at')).toEqual({ def: 'CHECK ((POSITION((\'@\'::text) IN (email)) > 1))', convalidated: true });
      await expect(tryWrite(`INSERT INTO users (email) VALUES ('nobody')`, '0010_users_email_check')).rejects.toThrow(/users_email_has_at/);
    });
    await expect(tryWrite(`INSERT INTO users (email) VALUES ('nobody')`)).rejects.toThrow(/users_email_has_at/);

    await rolledBackFromGate('0011_users_rename_email_check.yaml');
    await runs.startAndApprove('0011_users_rename_email_check.yaml', async () => {
      expect(await constraint('users_email_has_at')).toMatchObject({ convalidated: true });
      expect(await constraint('users_email_check')).toBeUndefined();
    });
    expect(await constraint('users_email_has_at')).toBeUndefined();
    expect(await constraint('users_email_check')).toEqual({ def: 'CHECK ((POSITION((\'@\'::text) IN (email)) > 1))', convalidated: true });

    await rolledBackFromGate('0012_users_drop_email_check.yaml');
    await runs.startAndApprove('0012_users_drop_email_check.yaml', async () => {
      await expect(tryWrite(`INSERT INTO users (email) VALUES ('nobody')`)).rejects.toThrow(/users_email_check/);
    });
    expect(await constraint('users_email_check')).toBeUndefined();
    await tryWrite(`INSERT INTO users (email) VALUES ('nobody')`);
  });

  it('0013 creates the view of recent users, 0014 adds their name (the old version reads the old view until contract), 0015 drops it', async () => {
    const view = (name: string) =>
      one(`SELECT c.reloptions AS options, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c WHERE c.oid = to_regclass($1)`, [name]);
    await rolledBackFromGate('0013_users_recent_emails_view.yaml');
    await runs.startAndApprove('0013_users_recent_emails_view.yaml');
    expect(await columnsOf('public.recent_user_emails')).toEqual(['id', 'email']);
    expect((await one(`SELECT count(*)::int AS n FROM recent_user_emails`)).n).toBe(ROWS);
    expect(await view('public.recent_user_emails')).toEqual({ options: ['security_invoker=true'], comment: 'users who signed up in the last 30 days' });

    const defOf = () => one(`SELECT pg_get_viewdef('public.recent_user_emails'::regclass) AS def`);
    await rolledBackFromGate('0014_users_recent_emails_add_name.yaml', defOf);
    await runs.startAndApprove('0014_users_recent_emails_add_name.yaml', async () => {
      expect(await columnsOf('public.recent_user_emails')).toEqual(['id', 'email']);
      expect(await rowsOf(`SELECT id::int, email, name FROM "0014_users_recent_emails_add_name".recent_user_emails WHERE id = 5`)).toEqual([
        { id: 5, email: 'User5@Example.COM', name: 'User 5' },
      ]);
    });
    expect(await columnsOf('public.recent_user_emails')).toEqual(['id', 'email', 'name']);
    expect(await view('public.recent_user_emails')).toEqual({ options: ['security_invoker=true'], comment: 'users who signed up in the last 30 days' });

    await rolledBackFromGate('0015_users_drop_recent_emails_view.yaml', defOf);
    await runs.startAndApprove('0015_users_drop_recent_emails_view.yaml', async () => {
      expect((await one(`SELECT count(*)::int AS n FROM public.recent_user_emails`)).n).toBe(ROWS);
    });
    expect(await one(`SELECT to_regclass('public.recent_user_emails') AS v`)).toEqual({ v: null });
  });

  it('0016 creates email_local_part, 0017 replaces its body (rolled back: the old body), 0018 creates user_tier, 0019 adds a value a rollback leaves', async () => {
    await rolledBackFromGate('0016_users_email_local_part_function.yaml');
    await runs.startAndApprove('0016_users_email_local_part_function.yaml');
    expect(await localPart()).toBe('Ann.Lee');

    await rolledBackFromGate('0017_users_email_local_part_lower.yaml', localPart);
    // The new body applies to both versions from expand on.
    await runs.startAndApprove('0017_users_email_local_part_lower.yaml', async () => expect(await localPart()).toBe('ann.lee'));
    expect(await localPart()).toBe('ann.lee');
    expect(await one(`SELECT provolatile::text AS v, obj_description(oid, 'pg_proc') AS comment FROM pg_proc WHERE oid = to_regprocedure('public.email_local_part(text)')`)).toEqual({
      v: 'i',
      comment: 'the part of an email address before the @',
    });

    await rolledBackFromGate('0018_users_tier_enum.yaml');
    await runs.startAndApprove('0018_users_tier_enum.yaml');
    expect(await enumLabels('public.user_tier')).toEqual(['free', 'pro']);

    // PostgreSQL cannot remove an enum value: the rollback leaves it, as the playbook acknowledges; the run after it finds it there.
    await runs.rollbackAtGate('0019_users_tier_add_team.yaml');
    expect(await enumLabels('public.user_tier')).toEqual(['free', 'team', 'pro']);
    await runs.startAndApprove('0019_users_tier_add_team.yaml');
    expect(await enumLabels('public.user_tier')).toEqual(['free', 'team', 'pro']);
  });

  it('0020 seeds plans, 0021 lets reporting read users and plans, 0022 takes users back: the grants rolled back from the gate first', async () => {
    // Rolled back in seed-data.test.ts.
    await runs.startAndApprove('0020_plans_seed.yaml', async () => expect((await one(`SELECT count(*)::int AS n FROM plans`)).n).toBe(3));
    expect(await rowsOf(`SELECT code, title, monthly_cents FROM plans ORDER BY code`)).toEqual([
      { code: 'business', title: 'Business', monthly_cents: 4900 },
      { code: 'free', title: 'Free', monthly_cents: 0 },
      { code: 'team', title: 'Team', monthly_cents: 1200 },
    ]);

    // The examples name the role `reporting`; this file's own stands in for it (roles are the cluster's).
    const role = await testRole(db, 'reporting');
    const files = scratchDir();
    const withRole = (file: string) => files.write(file, readFileSync(playbookPath(file), 'utf8').replace(/\b(to|from): reporting\b/g, `$1: ${role}`));
    const [grant, revoke] = [withRole('0021_users_grant_reporting.yaml'), withRole('0022_users_revoke_reporting.yaml')];
    const reads = async () => (await one(`SELECT has_table_privilege($1, 'public.users', 'SELECT') AS users, has_table_privilege($1, 'public.plans', 'SELECT') AS plans`, [role]));

    await rolledBackFromGate(grant, reads);
    await runs.startAndApprove(grant, async () => expect(await reads()).toEqual({ users: true, plans: true }));
    expect(await reads()).toEqual({ users: true, plans: true });

    await rolledBackFromGate(revoke, reads);
    // The old application may rely on the privilege until contract.
    await runs.startAndApprove(revoke, async () => expect(await reads()).toEqual({ users: true, plans: true }));
    expect(await reads()).toEqual({ users: false, plans: true });
  });

  it('0023 keeps the versions of users, 0024 drops them at contract: each rolled back from the gate first', async () => {
    await rolledBackFromGate('0023_users_history.yaml');
    await runs.startAndApprove('0023_users_history.yaml', async () => {
      // The backfill has copied every user in as its current version.
      expect(await one(`SELECT count(*)::int AS n, count(*) FILTER (WHERE valid_to = 'infinity')::int AS open FROM users_history`)).toEqual({ n: ROWS, open: ROWS });
    });
    await db.query(`UPDATE users SET name = 'renamed' WHERE id = 7`);
    expect((await one(`SELECT count(*)::int AS n FROM users_history`)).n).toBe(ROWS + 1);
    expect(await rowsOf(`SELECT id::int, name FROM users_as_of(clock_timestamp()) WHERE id = 7`)).toEqual([{ id: 7, name: 'renamed' }]);

    await rolledBackFromGate('0024_users_drop_history.yaml', () => rowsOf(`SELECT id::int, name, valid_to = 'infinity' AS open FROM users_history ORDER BY 1, 3, 2`));
    await runs.startAndApprove('0024_users_drop_history.yaml', async () => {
      // Until contract the old application's changes keep their versions.
      await db.query(`UPDATE users SET name = 'User 7' WHERE id = 7`);
      expect((await one(`SELECT count(*)::int AS n FROM users_history`)).n).toBe(ROWS + 2);
    });
    expect(await one(`SELECT to_regclass('users_history') AS t, to_regprocedure('users_as_of(timestamptz)') AS f, to_regprocedure('users_history_write()') AS w`)).toEqual({
      t: null,
      f: null,
      w: null,
    });
    expect(await rowsOf(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal`)).toEqual([]);
  });

  it('0025 splits name and 0026 merges it back: each version sees its shape at the gate', async () => {
    // Both rolled back, with both applications writing, in split-merge.test.ts.
    await runs.startAndApprove('0025_users_split_name.yaml', async () => {
      expect(await rowsOf(`SELECT name FROM public.users WHERE id = 17`)).toEqual([{ name: 'User 17' }]);
      expect(await rowsOf(`SELECT first_name, last_name FROM "0025_users_split_name".users WHERE id = 17`)).toEqual([{ first_name: 'User', last_name: '17' }]);
    });
    expect(await columnsOf('public.users')).toEqual(['id', 'email', 'created_at', 'first_name', 'last_name']);
    expect(await one(`SELECT count(*) FILTER (WHERE first_name = 'User' AND last_name = id::text)::int AS ok FROM users`)).toEqual({ ok: ROWS });

    await runs.startAndApprove('0026_users_merge_name.yaml', async () => {
      expect(await rowsOf(`SELECT first_name, last_name FROM public.users WHERE id = 17`)).toEqual([{ first_name: 'User', last_name: '17' }]);
      expect(await rowsOf(`SELECT name FROM "0026_users_merge_name".users WHERE id = 17`)).toEqual([{ name: 'User 17' }]);
    });
    expect(await columnsOf('public.users')).toEqual(['id', 'email', 'created_at', 'name']);
    expect(await one(`SELECT count(*) FILTER (WHERE name = 'User ' || id)::int AS ok FROM users`)).toEqual({ ok: ROWS });
  });

  it('0029 trims the names that need it and keeps them trimmed: rolled back from the gate first', async () => {
    await db.query(`UPDATE users SET name = '  User 5 ' WHERE id = 5`);
    await db.query(`UPDATE users SET name = '   ' WHERE id = 6`);
    await rolledBackFromGate('0029_users_name_trimmed.yaml');
    await runs.startAndApprove('0029_users_name_trimmed.yaml', async () => {
      // The old version still sees the names as written; the new one, repaired.
      expect(await rowsOf(`SELECT id::int, name FROM public.users WHERE id IN (5, 6) ORDER BY id`)).toEqual([{ id: 5, name: '  User 5 ' }, { id: 6, name: '   ' }]);
      expect(await rowsOf(`SELECT id::int, name FROM "0029_users_name_trimmed".users WHERE id IN (5, 6) ORDER BY id`)).toEqual([{ id: 5, name: 'User 5' }, { id: 6, name: null }]);
      await expect(tryWrite(`UPDATE users SET name = ' x' WHERE id = 7`, '0029_users_name_trimmed')).rejects.toThrow(/users_name_trimmed/);
    });
    expect(await constraint('users_name_trimmed')).toEqual({ def: `CHECK (((name = btrim(name)) AND (name <> ''::text)))`, convalidated: true });
    expect(await one(`SELECT count(*)::int AS n, count(*) FILTER (WHERE name = 'User ' || id)::int AS kept FROM users`)).toEqual({ n: ROWS, kept: ROWS - 1 });
    expect(await rowsOf(`SELECT id::int, name FROM users WHERE id IN (5, 6) ORDER BY id`)).toEqual([{ id: 5, name: 'User 5' }, { id: 6, name: null }]);
    await expect(tryWrite(`UPDATE users SET name = ' x' WHERE id = 7`)).rejects.toThrow(/users_name_trimmed/);
  });
});
