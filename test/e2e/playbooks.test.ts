import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { exampleRuns } from '../helpers/example-runs.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook, playbookChecksum } from '../../src/playbook/load.ts';
import { catalogSnapshot, describe as show, playbookPath, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';

/**
 * The example playbooks that build on one another's shape of the demo's table
 * (0001–0009, then 0027 and 0028), through the CLI as an operator runs them: start
 * (stops at the gate), approve, then the schema and the data are checked with SQL.
 * Those written for the demo's table as it is made run in playbooks-demo-shape.test.ts.
 */

const ROWS = 3000;
let db: TestDatabase;
let startAndApprove: ReturnType<typeof exampleRuns>['startAndApprove'];

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  ({ startAndApprove } = exampleRuns(db));
});

async function columns(): Promise<Array<{ name: string; type: string; notnull: boolean; def: string | null }>> {
  const { rows } = await db.query<{ name: string; type: string; notnull: boolean; def: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = 'public.users'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  );
  return rows;
}

/** Nothing of bellows' machinery may outlive a completed run: no shadow columns, triggers, functions, version schemas. */
async function expectNoLeftovers() {
  const snap = await catalogSnapshot(db.pool);
  // Index columns keep the name their column had when the index was built (PostgreSQL does not
  // rename them), so the copied email index shows `_bellows_new_email`: cosmetic, not checked here.
  const userObjects = Object.values(snap)
    .flat()
    .filter((o) => !JSON.stringify(o).includes('"bellows') && !(o as { relname?: string }).relname?.endsWith('_key'));
  expect(userObjects.map((o) => JSON.stringify(o)).filter((t) => t.includes('_bellows'))).toEqual([]);
  expect(snap.schemas.map((s) => (s as { nspname: string }).nspname).sort()).toEqual(['bellows', 'public']);
  expect(snap.triggers.filter((t) => (t as { rel: string }).rel === 'users')).toEqual([]);
}

describe('the example playbooks, end to end through the CLI', () => {
  const ids: string[] = [];

  it('0001 email → citext: lower-cased, case-insensitive, still unique and NOT NULL', async () => {
    const id = await startAndApprove('0001_users_email_citext.yaml', async (runId) => {
      // At the gate the new application already sees the new shape through the version schema.
      const view = await db.query(`SELECT email, pg_typeof(email)::text AS type FROM "0001_users_email_citext".users WHERE id = 7`);
      expect(view.rows[0]).toEqual({ email: 'user7@example.com', type: 'citext' });
      const old = await db.query(`SELECT email FROM public.users WHERE id = 7`);
      expect(old.rows[0].email).toBe('User7@Example.COM');
      // watch on a run at the gate: prints the state and exits 0
      const watched = await runCli(['watch', runId], { db: db.url });
      expect(watched.code, show(watched)).toBe(0);
      expect(watched.stdout).toContain(`bellows approve ${runId}`);
      expect(watched.stdout).toMatch(/backfill\s+public\.users .*100\.0%\s+3,000\/3,000 rows/);
    });
    ids.push(id);
    expect((await columns()).find((c) => c.name === 'email')).toEqual({ name: 'email', type: 'citext', notnull: true, def: null });
    const data = await db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE email::text <> lower('User' || id || '@Example.COM'))::int AS wrong FROM users`,
    );
    expect(data.rows[0]).toEqual({ n: ROWS, wrong: 0 });
    expect((await db.query(`SELECT id FROM users WHERE email = 'USER42@EXAMPLE.COM'`)).rows).toEqual([{ id: '42' }]);
    const idx = await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'users_email_key'`);
    expect(idx.rows[0].indexdef).toMatch(/UNIQUE INDEX users_email_key ON public\.users USING btree \(email\)/);
    await expectNoLeftovers();

    // watch on a finished run prints the final state and exits 0
    const watched = await runCli(['watch', id], { db: db.url });
    expect(watched.code, show(watched)).toBe(0);
    expect(watched.stdout).toMatch(new RegExp(`run ${id} 0001_users_email_citext\\s+phase done\\s+completed`));
  });

  it('0002 add NOT NULL column with a default: every row has it, new rows get it', async () => {
    ids.push(await startAndApprove('0002_users_add_plan.yaml'));
    expect((await columns()).find((c) => c.name === 'plan')).toEqual({ name: 'plan', type: 'text', notnull: true, def: "'free'::text" });
    const data = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE plan = 'free')::int AS free FROM users`);
    expect(data.rows[0]).toEqual({ n: ROWS, free: ROWS });
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const inserted = await client.query(`INSERT INTO users (email, name) VALUES ('new@example.com', 'New') RETURNING plan`);
      expect(inserted.rows[0].plan).toBe('free');
      await expect(client.query(`INSERT INTO users (email, name, plan) VALUES ('null@example.com', 'Null', NULL)`)).rejects.toThrow(/null value in column "plan"/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    await expectNoLeftovers();
  });

  it('0003 rename column: the values move with it', async () => {
    ids.push(
      await startAndApprove('0003_users_rename_name.yaml', async () => {
        const view = await db.query(`SELECT full_name FROM "0003_users_rename_name".users WHERE id = 5`);
        expect(view.rows[0].full_name).toBe('User 5');
      }),
    );
    // renamed in place: the column keeps its position, no copy was made
    expect((await columns()).map((c) => c.name)).toEqual(['id', 'full_name', 'created_at', 'email', 'plan']);
    const data = await db.query(`SELECT count(*) FILTER (WHERE full_name = 'User ' || id)::int AS ok FROM users`);
    expect(data.rows[0].ok).toBe(ROWS);
    await expectNoLeftovers();
  });

  it('0004 create index concurrently: a valid index on created_at', async () => {
    ids.push(await startAndApprove('0004_users_created_at_index.yaml'));
    const idx = await db.query(
      `SELECT i.indisvalid, i.indisready, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
        WHERE i.indexrelid = 'public.users_created_at_idx'::regclass`,
    );
    expect(idx.rows[0]).toEqual({ indisvalid: true, indisready: true, def: 'CREATE INDEX users_created_at_idx ON public.users USING btree (created_at)' });
    expect((await db.query(`SELECT count(*)::int AS n FROM users`)).rows[0].n).toBe(ROWS);
    await expectNoLeftovers();
  });

  it('0005 drop index concurrently, after the contract transaction: the index is gone, the rows stay', async () => {
    ids.push(await startAndApprove('0005_users_drop_created_at_index.yaml', async () => {
      // Until contract the old application keeps its index.
      expect((await db.query(`SELECT to_regclass('public.users_created_at_idx') IS NOT NULL AS present`)).rows[0].present).toBe(true);
    }));
    expect((await db.query(`SELECT to_regclass('public.users_created_at_idx') IS NULL AS gone`)).rows[0].gone).toBe(true);
    const { rows: done } = await db.query(`SELECT done_actions FROM bellows.runs WHERE id = $1`, [ids.at(-1)]);
    expect(done[0].done_actions).toContain('contract:0:drop_index');
    expect((await db.query(`SELECT count(*)::int AS n FROM users`)).rows[0].n).toBe(ROWS);
    await expectNoLeftovers();
  });

  it('0006–0008 a table created, renamed and dropped: each shape in its version schema first, in the table at contract', async () => {
    ids.push(await startAndApprove('0006_orders_create.yaml', async () => {
      await db.query(`INSERT INTO "0006_orders_create".orders (id, user_id, total) VALUES (1, 5, 9.90)`);
    }));
    expect((await db.query(`SELECT id::int, user_id::int, total::text FROM orders`)).rows).toEqual([{ id: 1, user_id: 5, total: '9.90' }]);
    ids.push(await startAndApprove('0007_orders_rename.yaml', async () => {
      expect((await db.query(`SELECT count(*)::int AS n FROM "0007_orders_rename".purchases`)).rows[0].n).toBe(1);
      expect((await db.query(`SELECT count(*)::int AS n FROM public.orders`)).rows[0].n).toBe(1);
    }));
    expect((await db.query(`SELECT to_regclass('public.orders') IS NULL AS old, to_regclass('public.purchases') IS NOT NULL AS new`)).rows[0]).toEqual({ old: true, new: true });
    ids.push(await startAndApprove('0008_purchases_drop.yaml', async () => {
      expect((await db.query(`SELECT count(*)::int AS n FROM public.purchases`)).rows[0].n).toBe(1);
    }));
    expect((await db.query(`SELECT to_regclass('public.purchases') IS NULL AS gone`)).rows[0].gone).toBe(true);
    await expectNoLeftovers();
  });

  it('0009 raw SQL: the function is there, and the plan showed its declared lock', async () => {
    const plan = await runCli(['plan', playbookPath('0009_email_domain_function.yaml')], { db: db.url });
    expect(plan.code, show(plan)).toBe(0);
    expect(plan.stdout).toContain('CREATE FUNCTION public.email_domain');
    ids.push(await startAndApprove('0009_email_domain_function.yaml'));
    expect((await db.query(`SELECT public.email_domain(email) AS d FROM users WHERE id = 3`)).rows[0].d).toBe('example.com');
    await expectNoLeftovers();
  });

  it('history lists them in name order with their checksums', async () => {
    const names = [
      '0001_users_email_citext', '0002_users_add_plan', '0003_users_rename_name', '0004_users_created_at_index', '0005_users_drop_created_at_index',
      '0006_orders_create', '0007_orders_rename', '0008_purchases_drop', '0009_email_domain_function',
    ];
    const [json, human] = await Promise.all([runCli(['history', '--json'], { db: db.url }), runCli(['history'], { db: db.url })]);
    expect(json.code, show(json)).toBe(0);
    const history = JSON.parse(json.stdout) as Array<{ playbookName: string; checksum: string; runId: string; appliedAt: string }>;
    const expected = await Promise.all(names.map(async (n) => playbookChecksum(await loadPlaybook(playbookPath(`${n}.yaml`)))));
    expect(history.map((h) => [h.playbookName, h.runId, h.checksum])).toEqual(names.map((n, i) => [n, ids[i], expected[i]]));
    expect(human.code, show(human)).toBe(0);
    for (const [i, n] of names.entries()) expect(human.stdout).toMatch(new RegExp(`${n}\\s+${ids[i]}\\s+\\S+\\s+${expected[i].slice(0, 12)}`));
  });

  it('an applied playbook is refused: unchanged exits 1, changed exits 2, and nothing runs', async () => {
    const files = scratchDir();
    const original = readFileSync(playbookPath('0002_users_add_plan.yaml'), 'utf8');
    // Only comments and settings differ: the same migration, so the same checksum.
    const retuned = files.write('0002-retuned.yaml', `# reformatted\n${original}settings:\n  batchTimeMs: 50\n`);
    const changed = files.write('0002-changed.yaml', original.replace(`default: "'free'"`, `default: "'pro'"`));
    expect(readFileSync(changed, 'utf8')).not.toBe(original);
    const before = await catalogSnapshot(db.pool);
    const runsBefore = (await db.query(`SELECT count(*)::int AS n FROM bellows.runs`)).rows[0].n;
    const [again, renamedAgain, retunedAgain, changedAgain] = await Promise.all([
      runCli(['start', playbookPath('0001_users_email_citext.yaml'), '--no-progress'], { db: db.url }),
      // Its column "name" is gone now: the refusal must still say why, not "column does not exist".
      runCli(['start', playbookPath('0003_users_rename_name.yaml'), '--no-progress'], { db: db.url }),
      runCli(['start', retuned, '--no-progress'], { db: db.url }),
      runCli(['start', changed, '--no-progress'], { db: db.url }),
    ]);
    for (const [r, name, id] of [
      [again, '0001_users_email_citext', ids[0]],
      [renamedAgain, '0003_users_rename_name', ids[2]],
      [retunedAgain, '0002_users_add_plan', ids[1]],
    ] as const) {
      expect(r.code, show(r)).toBe(1);
      expect(stderrLines(r)).toEqual([`bellows: playbook ${name} is already applied (run ${id})`]);
    }
    expect(changedAgain.code, show(changedAgain)).toBe(2);
    expect(stderrLines(changedAgain)).toHaveLength(1);
    expect(changedAgain.stderr).toMatch(/^bellows: playbook 0002_users_add_plan was applied \(run \d+\) with a different checksum/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect((await db.query(`SELECT count(*)::int AS n FROM bellows.runs`)).rows[0].n).toBe(runsBefore);
  });
  it('0027 rename, then a check and an index on the new name: on created_at until contract, on signed_up_at after', async () => {
    const constraint = `SELECT pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conname = 'users_signed_up_at_check'`;
    const index = `SELECT indexdef FROM pg_indexes WHERE indexname = 'users_signed_up_at_idx'`;
    await startAndApprove('0027_users_signed_up_at.yaml', async () => {
      expect((await db.query(constraint)).rows).toEqual([{ def: `CHECK ((created_at > '2000-01-01 00:00:00+00'::timestamp with time zone))`, convalidated: true }]);
      expect((await db.query(index)).rows).toEqual([{ indexdef: 'CREATE INDEX users_signed_up_at_idx ON public.users USING btree (created_at)' }]);
    });
    expect((await columns()).map((c) => c.name)).toContain('signed_up_at');
    expect((await db.query(constraint)).rows).toEqual([{ def: `CHECK ((signed_up_at > '2000-01-01 00:00:00+00'::timestamp with time zone))`, convalidated: true }]);
    expect((await db.query(index)).rows).toEqual([{ indexdef: 'CREATE INDEX users_signed_up_at_idx ON public.users USING btree (signed_up_at)' }]);
    await expect(db.query(`UPDATE users SET signed_up_at = '1999-12-31' WHERE id = 1`)).rejects.toThrow(/users_signed_up_at_check/);
    await expectNoLeftovers();
  });
  it('0028 a table seeded from the file beside the playbook, through the backfill: every day once', async () => {
    const plan = await runCli(['plan', playbookPath('0028_calendar_days.yaml')], { db: db.url });
    expect(plan.code, show(plan)).toBe(0);
    expect(plan.stdout).toContain('FROM "bellows"."seed_0028_calendar_days_1" s WHERE');
    const id = await startAndApprove('0028_calendar_days.yaml', async (runId) => {
      const walked = await db.query(`SELECT task, rows_done::int AS rows, done FROM bellows.ranges WHERE run_id = $1 ORDER BY task`, [runId]);
      // Seeded by the backfill, then every line's row checked by verify against the table.
      expect(walked.rows).toEqual([{ task: 'backfill', rows: 730, done: true }, { task: 'verify', rows: 730, done: true }]);
    });
    const { rows } = await db.query(
      `SELECT count(*)::int AS days, count(*) FILTER (WHERE weekend)::int AS weekend, min(day)::text AS first, max(day)::text AS last,
              count(*) FILTER (WHERE weekday = extract(isodow FROM day) AND quarter = extract(quarter FROM day))::int AS right
         FROM calendar_days`,
    );
    expect(rows[0]).toEqual({ days: 730, weekend: 208, first: '2026-01-01', last: '2027-12-31', right: 730 });
    // The seed file is part of the playbook: the history keeps its digest in the checksum.
    const history = JSON.parse((await runCli(['history', '--json'], { db: db.url })).stdout) as Array<{ playbookName: string; runId: string; checksum: string }>;
    const playbook = await loadPlaybook(playbookPath('0028_calendar_days.yaml'));
    expect(history.find((h) => h.playbookName === '0028_calendar_days')).toMatchObject({ runId: id });
    expect(history.find((h) => h.playbookName === '0028_calendar_days')!.checksum).not.toBe(playbookChecksum(playbook));
    await expectNoLeftovers();
  });
});
