import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { InputError, RunFailedError } from '../../src/errors.ts';
import { describePlan } from '../../src/engine/plan-text.ts';
import { compilePlan } from '../../src/engine/compile.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';

/**
 * The view operations through every phase: rolled back from expand and from
 * the gate, the catalog (views' definitions, options, comments, grants and
 * data included) is exactly as before; run to the end, the views are as the
 * catalog should show them. Bad input is refused with one line before any DDL.
 */

interface View {
  kind: string;
  def: string;
  options: string[] | null;
  comment: string | null;
  acl: string[] | null;
  populated: boolean;
}

async function viewOf(db: TestDatabase, name: string): Promise<View | undefined> {
  const { rows } = await db.query<View>(
    `SELECT c.relkind::text AS kind, pg_get_viewdef(c.oid) AS def, c.reloptions AS options, obj_description(c.oid, 'pg_class') AS comment,
            c.relacl::text[] AS acl, c.relispopulated AS populated
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [name],
  );
  return rows[0];
}

/** What catalogSnapshot leaves out and a view operation could change: every view's definition, options, comment, grants and rows. */
async function everything(db: TestDatabase) {
  const { rows } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const views: Record<string, unknown> = {};
  for (const { name } of rows) {
    const view = (await viewOf(db, name))!;
    const data = view.populated ? (await db.query(`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS md5 FROM ${name} t`)).rows[0].md5 : null;
    views[name] = { ...view, data };
  }
  return { catalog: await catalogSnapshot(db.pool), views };
}

async function columnsOf(db: TestDatabase, name: string): Promise<string[]> {
  const { rows } = await db.query(`SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`, [name]);
  return rows.map((r) => r.attname);
}

async function count(db: TestDatabase, sql: string): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM (${sql}) q`)).rows[0].n;
}

interface Case {
  name: string;
  setup: string[];
  operation: Record<string, unknown>;
  afterExpand: (db: TestDatabase) => Promise<void>;
  /** At the gate: the old application still sees what it saw. */
  atGate: (db: TestDatabase, versionSchema: string) => Promise<void>;
  afterContract: (db: TestDatabase) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'create_view, security_invoker with a comment',
    setup: [`CREATE TABLE cv (id bigserial PRIMARY KEY, ok boolean NOT NULL)`, `INSERT INTO cv (ok) SELECT g % 3 = 0 FROM generate_series(1, 300) g`],
    operation: { create_view: { name: 'cv_ok', query: 'SELECT id FROM public.cv WHERE ok -- the good ones', comment: "the good ones' ids" } },
    async afterExpand(db) {
      expect(await viewOf(db, 'public.cv_ok')).toEqual({
        kind: 'v',
        def: ' SELECT cv.id\n   FROM cv\n  WHERE cv.ok;',
        options: ['security_invoker=true'],
        comment: "the good ones' ids",
        acl: null,
        populated: true,
      });
      expect(await count(db, 'SELECT * FROM cv_ok')).toBe(100);
    },
    async atGate(db) {
      expect(await viewOf(db, 'public.cv_ok')).toMatchObject({ kind: 'v', options: ['security_invoker=true'] });
    },
    async afterContract(db) {
      expect(await viewOf(db, 'public.cv_ok')).toMatchObject({ kind: 'v', options: ['security_invoker=true'], comment: "the good ones' ids" });
    },
  },
  {
    name: 'create_view materialized, populated, with a unique index',
    setup: [`CREATE TABLE cm (id bigserial PRIMARY KEY, grp int NOT NULL)`, `INSERT INTO cm (grp) SELECT g % 10 FROM generate_series(1, 300) g`],
    operation: { create_view: { name: 'cm_groups', materialized: true, query: 'SELECT grp, count(*) AS n FROM public.cm GROUP BY grp', unique_index: ['grp'] } },
    async afterExpand(db) {
      expect(await viewOf(db, 'public.cm_groups')).toMatchObject({ kind: 'm', populated: true, options: null });
      expect((await db.query(`SELECT sum(n)::int AS s, count(*)::int AS g FROM cm_groups`)).rows[0]).toEqual({ s: 300, g: 10 });
      expect((await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'cm_groups_grp_key'`)).rows).toEqual([
        { indexdef: 'CREATE UNIQUE INDEX cm_groups_grp_key ON public.cm_groups USING btree (grp)' },
      ]);
    },
    async atGate(db) {
      expect(await viewOf(db, 'public.cm_groups')).toMatchObject({ kind: 'm', populated: true });
    },
    async afterContract(db) {
      await db.query(`INSERT INTO cm (grp) VALUES (42)`);
      await db.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY cm_groups`);
      expect(await count(db, 'SELECT * FROM cm_groups')).toBe(11);
    },
  },
  {
    name: 'create_view materialized WITH NO DATA',
    setup: [`CREATE TABLE cn (id bigserial PRIMARY KEY)`],
    operation: { create_view: { name: 'cn_ids', materialized: true, with_data: false, query: 'SELECT id FROM public.cn' } },
    async afterExpand(db) {
      expect(await viewOf(db, 'public.cn_ids')).toMatchObject({ kind: 'm', populated: false });
    },
    async atGate() {},
    async afterContract(db) {
      await expect(db.query(`SELECT * FROM cn_ids`)).rejects.toThrow(/has not been populated/);
    },
  },
  {
    name: 'replace_view adding a column, its grants, comment and options kept',
    setup: [
      `CREATE TABLE rv (id bigserial PRIMARY KEY, email text NOT NULL, name text)`,
      `INSERT INTO rv (email, name) SELECT 'u' || g || '@x', 'U ' || g FROM generate_series(1, 300) g`,
      `CREATE VIEW rv_emails WITH (security_invoker = true, check_option = local) AS SELECT id, email FROM public.rv WHERE id > 100`,
      `COMMENT ON VIEW rv_emails IS 'for the mailer'`,
      `GRANT SELECT ON rv_emails TO PUBLIC`,
      // A view built on it stays: its columns do not change.
      `CREATE VIEW rv_emails_count AS SELECT count(email) AS n FROM rv_emails`,
    ],
    operation: { replace_view: { name: 'rv_emails', query: 'SELECT id, email, name FROM public.rv WHERE id > 100' } },
    async afterExpand(db) {
      expect(await columnsOf(db, 'public.rv_emails')).toEqual(['id', 'email']);
    },
    async atGate(db, versionSchema) {
      expect(await columnsOf(db, 'public.rv_emails')).toEqual(['id', 'email']);
      // The new application reads the new definition from its version schema.
      const client = await db.pool.connect();
      try {
        await client.query(`SELECT set_config('search_path', $1, false)`, [`"${versionSchema}", public`]);
        expect((await client.query(`SELECT id, email, name FROM rv_emails WHERE id = 101`)).rows).toEqual([{ id: '101', email: 'u101@x', name: 'U 101' }]);
      } finally {
        await client.query('RESET search_path');
        client.release();
      }
      expect(await viewOf(db, `"${versionSchema}".rv_emails`)).toMatchObject({ options: ['security_invoker=true', 'check_option=local'] });
    },
    async afterContract(db) {
      expect(await columnsOf(db, 'public.rv_emails')).toEqual(['id', 'email', 'name']);
      expect(await viewOf(db, 'public.rv_emails')).toEqual({
        kind: 'v',
        def: ' SELECT rv.id,\n    rv.email,\n    rv.name\n   FROM rv\n  WHERE (rv.id > 100);',
        options: ['security_invoker=true', 'check_option=local'],
        comment: 'for the mailer',
        acl: ['postgres=arwdDxt/postgres', '=r/postgres'],
        populated: true,
      });
      expect((await db.query(`SELECT n::int FROM rv_emails_count`)).rows).toEqual([{ n: 200 }]);
    },
  },
  {
    name: 'replace_view of a materialized view: built beside it, its indexes again where their columns remain, swapped at contract',
    setup: [
      `CREATE TABLE rmv (id bigserial PRIMARY KEY, grp int NOT NULL, label text NOT NULL)`,
      `INSERT INTO rmv (grp, label) SELECT g % 10, 'L' || (g % 10) FROM generate_series(1, 300) g`,
      `CREATE MATERIALIZED VIEW rmv_groups AS SELECT grp, min(label) AS label, count(*) AS n FROM public.rmv GROUP BY grp`,
      `CREATE UNIQUE INDEX rmv_groups_key ON rmv_groups (grp)`,
      `CREATE INDEX rmv_groups_label ON rmv_groups (lower(label)) WHERE grp > 1`,
      `CREATE INDEX rmv_groups_n ON rmv_groups (n)`,
      `COMMENT ON MATERIALIZED VIEW rmv_groups IS 'groups and their sizes'`,
      `GRANT SELECT ON rmv_groups TO PUBLIC`,
    ],
    // n goes, total comes: the index on n cannot be built again; the playbook declares one on total.
    operation: {
      replace_view: {
        name: 'rmv_groups',
        query: 'SELECT grp, min(label) AS label, sum(id) AS total FROM public.rmv GROUP BY grp',
        indexes: [{ columns: ['total', 'grp'] }],
      },
    },
    async afterExpand(db) {
      expect(await columnsOf(db, 'public.rmv_groups')).toEqual(['grp', 'label', 'n']);
      expect(await count(db, 'SELECT * FROM rmv_groups')).toBe(10);
      expect(await viewOf(db, 'public._bellows_mv_0_rmv_groups')).toMatchObject({ kind: 'm', populated: true, comment: 'groups and their sizes', acl: ['postgres=arwdDxt/postgres', '=r/postgres'] });
      expect((await db.query(`SELECT sum(total)::int AS t FROM _bellows_mv_0_rmv_groups`)).rows).toEqual([{ t: 45150 }]);
    },
    async atGate(db, versionSchema) {
      expect(await columnsOf(db, 'public.rmv_groups')).toEqual(['grp', 'label', 'n']);
      const client = await db.pool.connect();
      try {
        await client.query(`SELECT set_config('search_path', $1, false)`, [`"${versionSchema}", public`]);
        expect((await client.query(`SELECT grp, label, total::int FROM rmv_groups WHERE grp = 3`)).rows).toEqual([{ grp: 3, label: 'L3', total: 4440 }]);
      } finally {
        await client.query('RESET search_path');
        client.release();
      }
    },
    async afterContract(db) {
      expect(await columnsOf(db, 'public.rmv_groups')).toEqual(['grp', 'label', 'total']);
      expect(await viewOf(db, 'public.rmv_groups')).toEqual({
        kind: 'm',
        def: ' SELECT rmv.grp,\n    min(rmv.label) AS label,\n    sum(rmv.id) AS total\n   FROM rmv\n  GROUP BY rmv.grp;',
        options: null,
        comment: 'groups and their sizes',
        acl: ['postgres=arwdDxt/postgres', '=r/postgres'],
        populated: true,
      });
      expect((await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'rmv_groups' ORDER BY 1`)).rows).toEqual([
        { indexname: 'rmv_groups_key', indexdef: 'CREATE UNIQUE INDEX rmv_groups_key ON public.rmv_groups USING btree (grp)' },
        { indexname: 'rmv_groups_label', indexdef: 'CREATE INDEX rmv_groups_label ON public.rmv_groups USING btree (lower(label)) WHERE (grp > 1)' },
        { indexname: 'rmv_groups_total_grp_idx', indexdef: 'CREATE INDEX rmv_groups_total_grp_idx ON public.rmv_groups USING btree (total, grp)' },
      ]);
      expect(await viewOf(db, 'public._bellows_mv_0_rmv_groups')).toBeUndefined();
      await db.query(`INSERT INTO rmv (grp, label) VALUES (42, 'new')`);
      await db.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY rmv_groups`);
      expect(await count(db, 'SELECT * FROM rmv_groups')).toBe(11);
    },
  },
  {
    name: 'drop_view',
    setup: [`CREATE TABLE dv (id bigserial PRIMARY KEY)`, `CREATE VIEW dv_ids AS SELECT id FROM public.dv`],
    operation: { drop_view: { name: 'dv_ids' } },
    async afterExpand(db) {
      expect(await viewOf(db, 'public.dv_ids')).toMatchObject({ kind: 'v' });
    },
    async atGate(db) {
      // The old application may read it until contract.
      expect(await count(db, 'SELECT * FROM dv_ids')).toBe(0);
    },
    async afterContract(db) {
      expect(await viewOf(db, 'public.dv_ids')).toBeUndefined();
    },
  },
  {
    name: 'drop_view materialized',
    setup: [`CREATE TABLE dm (id bigserial PRIMARY KEY)`, `CREATE MATERIALIZED VIEW dm_ids AS SELECT id FROM public.dm`, `CREATE UNIQUE INDEX dm_ids_key ON dm_ids (id)`],
    operation: { drop_view: { name: 'dm_ids', materialized: true } },
    async afterExpand(db) {
      expect(await viewOf(db, 'public.dm_ids')).toMatchObject({ kind: 'm' });
    },
    async atGate(db) {
      expect(await viewOf(db, 'public.dm_ids')).toMatchObject({ kind: 'm' });
    },
    async afterContract(db) {
      expect(await viewOf(db, 'public.dm_ids')).toBeUndefined();
      expect(await viewOf(db, 'public.dm_ids_key')).toBeUndefined();
    },
  },
  {
    name: 'refresh_materialized_view concurrently',
    setup: [
      `CREATE TABLE rm (id bigserial PRIMARY KEY)`,
      `CREATE MATERIALIZED VIEW rm_ids AS SELECT id FROM public.rm`,
      `CREATE UNIQUE INDEX rm_ids_key ON rm_ids (id)`,
      `INSERT INTO rm SELECT g FROM generate_series(1, 50) g`,
    ],
    operation: { refresh_materialized_view: { name: 'rm_ids' } },
    async afterExpand(db) {
      expect(await count(db, 'SELECT * FROM rm_ids')).toBe(0);
    },
    async atGate(db) {
      expect(await count(db, 'SELECT * FROM rm_ids')).toBe(0);
    },
    async afterContract(db) {
      expect(await count(db, 'SELECT * FROM rm_ids')).toBe(50);
    },
  },
];

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  for (const c of cases) for (const sql of c.setup) await db.query(sql);
  await createSampleTable(db.pool, 200);
  await db.query(`CREATE VIEW user_names AS SELECT id, name FROM public.users`);
  await db.query(`CREATE VIEW user_names_upper AS SELECT id, upper(name) AS name FROM public.user_names`);
  await db.query(`CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM public.users`);
  await db.query(`CREATE VIEW user_count_doubled AS SELECT n * 2 AS n2 FROM public.user_count`);
  await db.query(`CREATE MATERIALIZED VIEW user_total AS SELECT count(*) AS n FROM public.users`);
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
  const doc = (attempt: string) => ({ name: `view_${c.i}_${attempt}`, operations: [c.operation] });

  it.each(['expand', 'gate'] as const)('rolled back from %s: the catalog, the views and their rows are exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = await everything(db);
    await steps.expand(run.id);
    await c.afterExpand(db);
    if (stop === 'gate') expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await steps.rollback(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    expect(await everything(db)).toEqual(before);
  });

  it('runs to the end: in place from expand or kept until contract as the operation says, final after contract', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc('run'));
    await steps.expand(run.id);
    await c.afterExpand(db);
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await c.atGate(db, run.plan.versionSchema);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');
    await c.afterContract(db);
    expect((await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [run.plan.versionSchema])).rowCount).toBe(0);
  });
});

describe('the plan of a view operation', () => {
  it('says a materialized view is populated once, reading the whole query, and keeps the replaced definition', async () => {
    // What `bellows plan` shows: compiled, no run opened (an open run would hold its objects for the tests after this one).
    const planOf = async (doc: unknown) => describePlan(await compilePlan(db.pool, parsePlaybook(doc)));
    const created = await planOf({ name: 'view_plan_m', operations: [{ create_view: { name: 'pm', materialized: true, query: 'SELECT id FROM public.users' } }] });
    expect(created.find((p) => p.phase === 'expand')!.statements.map((s) => [s.sql, s.lock, s.note])).toEqual([
      ['CREATE MATERIALIZED VIEW "public"."pm" AS\nSELECT id FROM public.users\nWITH NO DATA', 'ACCESS SHARE (reads only)', 'create materialized view public.pm, empty'],
      [
        'REFRESH MATERIALIZED VIEW "public"."pm"',
        'ACCESS EXCLUSIVE (an unpopulated materialized view only: nobody can read it yet)',
        'the first population reads the whole query once; its tables stay readable and writable meanwhile',
      ],
    ]);
    const replaced = await planOf({ name: 'view_plan_r', operations: [{ replace_view: { name: 'user_names', query: 'SELECT id, name, email FROM public.users' } }] });
    const contract = replaced.find((p) => p.phase.startsWith('contract (one'))!.statements;
    expect(contract.find((s) => s.sql.startsWith('CREATE OR REPLACE VIEW "public"."user_names"'))!.note).toBe(
      'the new definition in place; it was: SELECT users.id, users.name FROM public.users',
    );
  });
});

const op = (operation: Record<string, unknown>) => ({ name: 'view_bad', operations: [operation] });

const refusals: Array<{ name: string; doc: unknown; message: string }> = [
  {
    name: 'create_view whose query names a missing column',
    doc: op({ create_view: { name: 'bad', query: 'SELECT nope FROM public.users' } }),
    message: 'operations[0].create_view.query: column "nope" does not exist',
  },
  {
    name: 'create_view whose query hides a second statement',
    doc: op({ create_view: { name: 'bad', query: 'SELECT 1) AS x; DROP TABLE public.users; SELECT * FROM (SELECT 1' } }),
    message: 'operations[0].create_view.query: cannot insert multiple commands into a prepared statement',
  },
  {
    name: 'create_view with two columns of one name',
    doc: op({ create_view: { name: 'bad', query: 'SELECT id, name AS id FROM public.users' } }),
    message: `operations[0].create_view.query: column "id" appears twice; a view's columns need distinct names (AS …)`,
  },
  {
    name: 'create_view under a name a table has',
    doc: op({ create_view: { name: 'users', query: 'SELECT 1 AS one' } }),
    message: 'operations[0].create_view.name: "users" already exists in schema public (views share one namespace with tables, indexes and sequences)',
  },
  {
    name: 'create_view twice under one name in a playbook',
    doc: { name: 'view_bad', operations: [{ create_view: { name: 'twice', query: 'SELECT 1 AS one' } }, { create_view: { name: 'twice', query: 'SELECT 2 AS two' } }] },
    message: 'operations[1].create_view.name: public.twice is already changed by operations[0]; one operation per view in a playbook',
  },
  {
    name: 'create_view in a schema that does not exist',
    doc: op({ create_view: { schema: 'nowhere', name: 'bad', query: 'SELECT 1 AS one' } }),
    message: 'operations[0].create_view.schema: schema nowhere does not exist',
  },
  {
    name: 'create_view with with_data on a plain view',
    doc: op({ create_view: { name: 'bad', query: 'SELECT 1 AS one', with_data: false } }),
    message: 'operations[0].create_view.with_data: only for materialized views (materialized: false)',
  },
  {
    name: 'create_view materialized with a unique index on a column the query lacks',
    doc: op({ create_view: { name: 'bad', materialized: true, query: 'SELECT id FROM public.users', unique_index: ['email'] } }),
    message: 'operations[0].create_view.unique_index[0]: the query has no column "email"',
  },
  {
    name: 'replace_view that drops a column',
    doc: op({ replace_view: { name: 'user_names', query: 'SELECT id FROM public.users' } }),
    message: 'operations[0].replace_view.query: column 2 would be missing, and is "name" text; a view keeps its columns, in order, and may only add new ones at the end',
  },
  {
    name: 'replace_view that changes a column type',
    doc: op({ replace_view: { name: 'user_names', query: 'SELECT id, name::varchar(20) AS name FROM public.users' } }),
    message: 'operations[0].replace_view.query: column 2 would be "name" character varying(20), and is "name" text; a view keeps its columns, in order, and may only add new ones at the end',
  },
  {
    name: 'replace_view whose query PostgreSQL refuses',
    doc: op({ replace_view: { name: 'user_names', query: 'SELECT id, name FROM public.userz' } }),
    message: 'operations[0].replace_view.query: relation "public.userz" does not exist',
  },
  { name: 'replace_view of a table', doc: op({ replace_view: { name: 'users', query: 'SELECT 1 AS one' } }), message: 'operations[0].replace_view.name: public.users is not a view' },
  { name: 'replace_view of a missing view', doc: op({ replace_view: { name: 'nope', query: 'SELECT 1 AS one' } }), message: 'operations[0].replace_view.name: public.nope does not exist' },
  {
    name: 'replace_view of a materialized view another view reads',
    doc: op({ replace_view: { name: 'user_count', query: 'SELECT count(*) AS n, 1 AS one FROM public.users' } }),
    message: 'operations[0].replace_view.name: public.user_count is used by view user_count_doubled, which would keep reading the old materialized view; drop it first',
  },
  {
    name: 'replace_view of a materialized view declaring an index on a column the query lacks',
    doc: op({ replace_view: { name: 'user_total', query: 'SELECT count(*) AS n FROM public.users', indexes: [{ columns: ['n'] }, { columns: ['m'], unique: true }] } }),
    message: 'operations[0].replace_view.indexes[1].columns[0]: the query has no column "m"',
  },
  {
    name: 'replace_view declaring indexes of a plain view',
    doc: op({ replace_view: { name: 'user_names', query: 'SELECT id, name FROM public.users', indexes: [{ columns: ['id'] }] } }),
    message: 'operations[0].replace_view.indexes: only for materialized views, and public.user_names is a plain view',
  },
  {
    name: 'drop_view of a view other views are built on',
    doc: op({ drop_view: { name: 'user_names' } }),
    message: 'operations[0].drop_view.name: public.user_names is used by view user_names_upper; drop it first',
  },
  {
    name: 'drop_view of a materialized view without saying so',
    doc: op({ drop_view: { name: 'user_count' } }),
    message: 'operations[0].drop_view.materialized: public.user_count is a materialized view: say materialized: true',
  },
  {
    name: 'refresh_materialized_view concurrently without a unique index',
    doc: op({ refresh_materialized_view: { name: 'user_count' } }),
    message: 'operations[0].refresh_materialized_view.concurrently: public.user_count has no unique index over plain columns without WHERE, which CONCURRENTLY needs; create one first (create_index)',
  },
  {
    name: 'refresh_materialized_view of a populated view without concurrently',
    doc: op({ refresh_materialized_view: { name: 'user_count', concurrently: false } }),
    message: 'operations[0].refresh_materialized_view.concurrently: public.user_count is populated, and a plain REFRESH keeps its readers waiting for the whole query; refresh it concurrently',
  },
];

describe.each(refusals)('refuses $name', ({ doc, message }) => {
  it('with one line naming the field, before any DDL', async () => {
    const before = await everything(db);
    const err = await engineFor(db.pool).open(doc).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(message);
    expect(await everything(db)).toEqual(before);
  });
});

describe('create_view materialized whose unique index finds duplicates', () => {
  it('fails in expand and rolls itself back: the view and its INVALID index are gone', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'view_dup', operations: [{ create_view: { name: 'user_dup', materialized: true, query: 'SELECT id % 3 AS k FROM public.users', unique_index: ['k'] } }] });
    const before = await everything(db);
    const err = await engine.executor.drive(run, { stopAtGate: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toMatch(/expand failed and was rolled back.*could not create unique index "user_dup_k_key"/);
    expect(await everything(db)).toEqual(before);
  });
});

describe('a refused view operation through the CLI', () => {
  it('create_view whose query PostgreSQL refuses: exit 2, one line naming the field and the reason, nothing changed', async () => {
    const file = scratchDir().write('bad.yaml', "name: view_cli\noperations:\n  - create_view: { name: v, query: 'SELECT id FROM public.users GROUP BY name' }\n");
    const before = await everything(db);
    const result = await runCli(['start', file, '--no-progress'], { db: db.url });
    expect(result.code, show(result)).toBe(2);
    expect(stderrLines(result)).toEqual(['bellows: operations[0].create_view.query: column "users.id" must appear in the GROUP BY clause or be used in an aggregate function']);
    expect(await everything(db)).toEqual(before);
  });
});
