import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor } from '../helpers/lifecycle.ts';
import { testRole } from '../helpers/roles.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { describePlan } from '../../src/engine/plan-text.ts';
import { InputError } from '../../src/errors.ts';

/**
 * grant and revoke through every phase, checked in the catalog: a grant holds
 * from expand on and a rollback leaves the role exactly the privileges it had
 * (those it held before included); a revoke holds nothing back until contract.
 */

type Kind = 'relation' | 'function' | 'schema';

/** The ACL of an object as PostgreSQL applies it (its default one while it has none). */
const ACL: Record<Kind, string> = {
  relation: `SELECT coalesce(relacl, acldefault((CASE relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", relowner)) AS acl FROM pg_class WHERE oid = $1::regclass`,
  function: `SELECT coalesce(proacl, acldefault('f', proowner)) AS acl FROM pg_proc WHERE oid = $1::regprocedure`,
  schema: `SELECT coalesce(nspacl, acldefault('n', nspowner)) AS acl FROM pg_namespace WHERE nspname = $1`,
};

/** Every grant on the object, as `grantee:privilege`: "exactly the privileges there were" for everyone. */
async function everyGrant(db: TestDatabase, kind: Kind, object: string): Promise<string[]> {
  const { rows } = await db.query<{ g: string }>(
    `SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || ':' || lower(a.privilege_type) || '/' || a.grantor::regrole::text AS g
       FROM (${ACL[kind]}) o, aclexplode(o.acl) a ORDER BY 1`,
    [object],
  );
  return rows.map((r) => r.g);
}

/** What `role` holds on the object directly. */
async function held(db: TestDatabase, kind: Kind, object: string, role: string): Promise<string[]> {
  const { rows } = await db.query<{ p: string }>(
    `SELECT lower(a.privilege_type) AS p FROM (${ACL[kind]}) o, aclexplode(o.acl) a WHERE a.grantee = $2::regrole ORDER BY 1`,
    [object, role],
  );
  return rows.map((r) => r.p);
}

/** What `role` can do, as PostgreSQL answers it (PUBLIC and memberships included). */
async function can(db: TestDatabase, kind: Kind, object: string, role: string, privilege: string): Promise<boolean> {
  const fn = { relation: 'has_table_privilege', function: 'has_function_privilege', schema: 'has_schema_privilege' }[kind];
  const sequence = kind === 'relation' && (await db.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [object])).rows[0].relkind === 'S';
  const { rows } = await db.query(`SELECT ${sequence ? 'has_sequence_privilege' : fn}($1, $2, $3) AS ok`, [role, object, privilege]);
  return rows[0].ok;
}

interface Case {
  name: string;
  kind: Kind;
  object: string;
  /** Run as the role is created: what it holds before the playbook. */
  setup: (role: string) => string[];
  operation: (role: string) => Record<string, unknown>;
  before: string[];
  /** At the gate (and, for a grant, already after expand). */
  atGate: string[];
  afterContract: string[];
  /** A privilege PostgreSQL answers for at each point, through has_*_privilege. */
  probe: { privilege: string; before: boolean; atGate: boolean; afterContract: boolean };
}

const cases: Case[] = [
  {
    name: 'grant on a table, the role holding one of the privileges already',
    kind: 'relation',
    object: 'public.users',
    setup: (role) => [`GRANT SELECT ON users TO ${role}`],
    operation: (role) => ({ grant: { privileges: ['select', 'insert', 'update'], on: { table: 'users' }, to: role } }),
    before: ['select'],
    atGate: ['insert', 'select', 'update'],
    afterContract: ['insert', 'select', 'update'],
    probe: { privilege: 'INSERT', before: false, atGate: true, afterContract: true },
  },
  {
    name: 'grant all on a sequence',
    kind: 'relation',
    object: 'public.users_id_seq',
    setup: () => [],
    operation: (role) => ({ grant: { privileges: ['all'], on: { sequence: 'users_id_seq' }, to: role } }),
    before: [],
    atGate: ['select', 'update', 'usage'],
    afterContract: ['select', 'update', 'usage'],
    probe: { privilege: 'USAGE', before: false, atGate: true, afterContract: true },
  },
  {
    name: 'grant on a view',
    kind: 'relation',
    object: 'public.user_emails',
    setup: () => [],
    operation: (role) => ({ grant: { privileges: ['select'], on: { view: 'user_emails' }, to: role } }),
    before: [],
    atGate: ['select'],
    afterContract: ['select'],
    probe: { privilege: 'SELECT', before: false, atGate: true, afterContract: true },
  },
  {
    name: 'grant execute on a function, by its argument types',
    kind: 'function',
    object: 'public.email_domain(text)',
    setup: () => [],
    operation: (role) => ({ grant: { privileges: ['execute'], on: { function: 'email_domain', args: ['text'] }, to: role } }),
    before: [],
    atGate: ['execute'],
    afterContract: ['execute'],
    probe: { privilege: 'EXECUTE', before: false, atGate: true, afterContract: true },
  },
  {
    name: 'grant on a schema, the role holding usage already',
    kind: 'schema',
    object: 'reporting',
    setup: (role) => [`GRANT USAGE ON SCHEMA reporting TO ${role}`],
    operation: (role) => ({ grant: { privileges: ['usage', 'create'], on: { schema: 'reporting' }, to: role } }),
    before: ['usage'],
    atGate: ['create', 'usage'],
    afterContract: ['create', 'usage'],
    probe: { privilege: 'CREATE', before: false, atGate: true, afterContract: true },
  },
  {
    name: 'revoke on a table: held until contract',
    kind: 'relation',
    object: 'public.users',
    setup: (role) => [`GRANT SELECT, INSERT ON users TO ${role}`],
    operation: (role) => ({ revoke: { privileges: ['insert'], on: { table: 'users' }, from: role } }),
    before: ['insert', 'select'],
    atGate: ['insert', 'select'],
    afterContract: ['select'],
    probe: { privilege: 'INSERT', before: true, atGate: true, afterContract: false },
  },
  {
    name: 'revoke all on a schema',
    kind: 'schema',
    object: 'reporting',
    setup: (role) => [`GRANT USAGE, CREATE ON SCHEMA reporting TO ${role}`],
    operation: (role) => ({ revoke: { privileges: ['all'], on: { schema: 'reporting' }, from: role } }),
    before: ['create', 'usage'],
    atGate: ['create', 'usage'],
    afterContract: [],
    probe: { privilege: 'USAGE', before: true, atGate: true, afterContract: false },
  },
];

let db: TestDatabase;
const roles = new Map<string, string>();
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 50);
  await db.query(`CREATE VIEW user_emails AS SELECT id, email FROM users`);
  await db.query(`CREATE FUNCTION email_domain(email text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT split_part(email, '@', 2) $$`);
  // Else every role may execute it through PUBLIC, and has_function_privilege could not tell.
  await db.query(`REVOKE EXECUTE ON FUNCTION email_domain(text) FROM PUBLIC`);
  await db.query(`CREATE SCHEMA reporting`);
  for (const [i, c] of cases.entries()) {
    const role = await testRole(db, `c${i}`);
    roles.set(c.name, role);
    for (const sql of c.setup(role)) await db.query(sql);
  }
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
  const doc = (attempt: string) => ({ name: `acl_${c.i}_${attempt}`, operations: [c.operation(roles.get(c.name)!)] });
  const state = async () => {
    const role = roles.get(c.name)!;
    return {
      held: await held(db, c.kind, c.object, role),
      can: await can(db, c.kind, c.object, role, c.probe.privilege),
      everyGrant: await everyGrant(db, c.kind, c.object),
      catalog: await catalogSnapshot(db.pool),
    };
  };

  it.each(['expand', 'gate'] as const)('rolled back from %s: every privilege on the object is exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = await state();
    expect(before.held).toEqual(c.before);
    expect(before.can).toBe(c.probe.before);
    if (stop === 'expand') await stepsFor(engine.store, db.pool).expand(run.id);
    else expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    expect(await held(db, c.kind, c.object, roles.get(c.name)!)).toEqual(c.atGate);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await state()).toEqual(before);
  });

  it('runs to the end: held from expand on, final at contract', async () => {
    const engine = engineFor(db.pool);
    const role = roles.get(c.name)!;
    const run = await engine.open(doc('run'));
    // GRANT and REVOKE take no lock on the object; plan says so.
    const statements = describePlan(run.plan).flatMap((p) => p.statements);
    const locks = statements.filter((s) => /^(GRANT|REVOKE) /.test(s.sql)).map((s) => s.lock);
    expect(locks.length).toBeGreaterThan(0);
    expect(new Set(locks)).toEqual(new Set(['none']));
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    expect(await held(db, c.kind, c.object, role)).toEqual(c.atGate);
    expect(await can(db, c.kind, c.object, role, c.probe.privilege)).toBe(c.probe.atGate);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');
    expect(await held(db, c.kind, c.object, role)).toEqual(c.afterContract);
    expect(await can(db, c.kind, c.object, role, c.probe.privilege)).toBe(c.probe.afterContract);
  });
});

describe('a grant whose role gained a privilege after the plan was made', () => {
  it('rollback takes back only what the plan saw it add', async () => {
    const role = await testRole(db, 'late');
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'acl_late', operations: [{ grant: { privileges: ['select'], on: { table: 'users' }, to: role } }] });
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await db.query(`GRANT DELETE ON users TO ${role}`);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await held(db, 'relation', 'public.users', role)).toEqual(['delete']);
  });
});

describe('bad grant and revoke operations', () => {
  const refused = async (operation: Record<string, unknown>) => {
    const before = await catalogSnapshot(db.pool);
    const err = await engineFor(db.pool).open({ name: 'acl_bad', operations: [operation] }).then(() => null, (e: unknown) => e);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  };
  const role = () => roles.get(cases[0].name)!;

  it('refuses each before any DDL, with one line naming the field', async () => {
    expect(await refused({ grant: { privileges: ['select'], on: { table: 'users' }, to: 'bellows_t_no_such_role' } })).toBe(
      'operations[0].grant.to: role "bellows_t_no_such_role" does not exist',
    );
    expect(await refused({ revoke: { privileges: ['select'], on: { table: 'users' }, from: 'bellows_t_no_such_role' } })).toBe(
      'operations[0].revoke.from: role "bellows_t_no_such_role" does not exist',
    );
    expect(await refused({ grant: { privileges: ['select'], on: { table: 'nope' }, to: role() } })).toBe('operations[0].grant.on: table public.nope does not exist');
    expect(await refused({ grant: { privileges: ['select'], on: { view: 'users' }, to: role() } })).toBe(
      'operations[0].grant.on: view public.users does not exist: public.users is a table',
    );
    expect(await refused({ grant: { privileges: ['select', 'execute'], on: { table: 'users' }, to: role() } })).toBe(
      'operations[0].grant.privileges[1]: execute does not apply to a table (it takes select, insert, update, delete, truncate, references, trigger, all)',
    );
    expect(await refused({ revoke: { privileges: ['insert'], on: { sequence: 'users_id_seq' }, from: role() } })).toBe(
      'operations[0].revoke.privileges[0]: insert does not apply to a sequence (it takes usage, select, update, all)',
    );
    expect(await refused({ grant: { privileges: ['execute'], on: { function: 'email_domain' }, to: role() } })).toBe(
      'operations[0].grant.on.args: Required for a function: its argument types, e.g. [text] ([] for none), as functions of one name are told apart by them',
    );
    expect(await refused({ grant: { privileges: ['execute'], on: { function: 'email_domain', args: ['integer'] }, to: role() } })).toBe(
      'operations[0].grant.on: function public.email_domain(integer) does not exist',
    );
    expect(await refused({ grant: { privileges: ['select'], on: { table: 'users', args: ['text'] }, to: role() } })).toBe('operations[0].grant.on.args: only a function takes args');
  });

  it('refuses an object named twice or not at all, by the playbook schema', async () => {
    const err = await engineFor(db.pool)
      .open({ name: 'acl_two', operations: [{ grant: { privileges: ['select'], on: { table: 'users', view: 'user_emails' }, to: role() } }] })
      .then(() => null, (e: unknown) => e);
    expect((err as Error).message).toBe('playbook: operations[0].grant.on: exactly one of table, view, sequence, function, schema');
  });
});
