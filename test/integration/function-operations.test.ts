import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { describePlan } from '../../src/engine/plan-text.ts';
import { InputError } from '../../src/errors.ts';

/**
 * The function and enum operations through every phase: rolled back from expand
 * and from the gate, the catalog is exactly as before, down to every function's
 * definition (pg_get_functiondef) and every enum's values; run to the end, the
 * objects are as pg_proc and pg_enum should show them. Bad input is refused
 * before any DDL, with one line naming the field.
 */

/** catalogSnapshot, and what it does not show: function definitions and comments, enum values. */
async function schemaObjects(pool: pg.Pool) {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    ...(await catalogSnapshot(pool)),
    definitions: await q(
      `SELECT p.oid::regprocedure::text AS fn, pg_get_functiondef(p.oid) AS def, obj_description(p.oid, 'pg_proc') AS comment
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f' ORDER BY 1`,
    ),
    enums: await q(
      `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' GROUP BY 1 ORDER BY 1`,
    ),
  };
}

async function call(db: TestDatabase, sql: string): Promise<unknown> {
  return (await db.query(`SELECT ${sql} AS v`)).rows[0].v;
}

/** What a function is, besides its body: what replace_function must keep. */
async function settingsOf(db: TestDatabase, signature: string) {
  const { rows } = await db.query(
    `SELECT provolatile::text AS volatility, prosecdef AS security_definer, proconfig AS config, obj_description(oid, 'pg_proc') AS comment
       FROM pg_proc WHERE oid = to_regprocedure($1)`,
    [signature],
  );
  return rows[0];
}

async function enumLabels(db: TestDatabase, type: string): Promise<string[] | undefined> {
  const { rows } = await db.query(`SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l FROM pg_enum WHERE enumtypid = to_regtype($1)`, [type]);
  return rows[0].l ?? undefined;
}

const SETUP = [
  `CREATE FUNCTION public.greet(who text) RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$ SELECT 'hello ' || who $$`,
  `COMMENT ON FUNCTION public.greet(text) IS 'says hello'`,
  `CREATE FUNCTION public.score(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n * 2 $$`,
  `CREATE FUNCTION public.stamp_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$`,
  `CREATE TRIGGER users_stamp BEFORE INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.stamp_users()`,
  `CREATE FUNCTION public.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$`,
  `CREATE VIEW public.loud_users AS SELECT id, public.shout(email) AS email FROM public.users`,
  `CREATE TABLE public.notes (id bigserial PRIMARY KEY, body text DEFAULT public.shout('note'))`,
  `CREATE TYPE public.mood AS ENUM ('sad', 'happy')`,
  `CREATE TYPE public.level AS ENUM ('low', 'high')`,
  `CREATE TYPE public.colour AS ENUM ('red', 'blue')`,
];

interface Case {
  name: string;
  operation: Record<string, unknown>;
  /** After expand: what the new application may use from now on, and what the old one still has. */
  afterExpand: (db: TestDatabase) => Promise<void>;
  afterContract: (db: TestDatabase) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'create_function',
    operation: {
      create_function: {
        name: 'initials',
        args: 'full_name text',
        returns: 'text',
        language: 'plpgsql',
        volatility: 'immutable',
        security_definer: true,
        body: `BEGIN RETURN string_agg(left(w, 1), '') FROM regexp_split_to_table(full_name, '\\s+') AS w; END`,
        comment: 'the first letter of every word',
      },
    },
    async afterExpand(db) {
      expect(await call(db, `public.initials('Ada Love Lace')`)).toBe('ALL');
    },
    async afterContract(db) {
      expect(await call(db, `public.initials('Grace Hopper')`)).toBe('GH');
      expect(await settingsOf(db, 'public.initials(text)')).toEqual({ volatility: 'i', security_definer: true, config: null, comment: 'the first letter of every word' });
    },
  },
  {
    name: 'replace_function, keeping what the playbook does not name',
    operation: { replace_function: { name: 'greet', args: 'who text', returns: 'text', language: 'sql', body: `SELECT 'hi ' || who` } },
    async afterExpand(db) {
      expect(await call(db, `public.greet('ann')`)).toBe('hi ann');
    },
    async afterContract(db) {
      expect(await call(db, `public.greet('bob')`)).toBe('hi bob');
      expect(await settingsOf(db, 'public.greet(text)')).toEqual({ volatility: 's', security_definer: true, config: ['search_path=public, pg_temp'], comment: 'says hello' });
    },
  },
  {
    name: 'drop_function',
    operation: { drop_function: { name: 'score', args: 'int' } },
    async afterExpand(db) {
      // The old application calls it until contract.
      expect(await call(db, `public.score(4)`)).toBe(8);
    },
    async afterContract(db) {
      expect(await call(db, `to_regprocedure('public.score(integer)')`)).toBeNull();
    },
  },
  {
    name: 'create_enum, and a function that returns it, in one playbook',
    operation: { create_enum: { name: 'tier', values: ['free', 'pro'] } },
    async afterExpand(db) {
      expect(await enumLabels(db, 'public.tier')).toEqual(['free', 'pro']);
    },
    async afterContract(db) {
      expect(await enumLabels(db, 'public.tier')).toEqual(['free', 'pro']);
      expect(await call(db, `public.default_tier()::text`)).toBe('free');
    },
  },
];
// The function's return type is made by the operation before it: validated against the rehearsed enum.
const followUps: Record<string, Record<string, unknown>[]> = {
  create_enum: [{ create_function: { name: 'default_tier', args: '', returns: 'public.tier', language: 'sql', volatility: 'immutable', body: `SELECT 'free'::public.tier` } }],
};

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 200);
  for (const sql of SETUP) await db.query(sql);
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
  const kind = Object.keys(c.operation)[0];
  const doc = (attempt: string) => ({ name: `fn_${c.i}_${attempt}`, operations: [c.operation, ...(followUps[kind] ?? [])] });

  it.each(['expand', 'gate'])('rolled back from %s: the catalog, function bodies included, is exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = await schemaObjects(db.pool);
    await steps.expand(run.id);
    await c.afterExpand(db);
    if (stop === 'gate') expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await steps.rollback(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    expect(await schemaObjects(db.pool)).toEqual(before);
  });

  it('runs to the end', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(doc('run'));
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await c.afterExpand(db);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');
    await c.afterContract(db);
  });
});

describe('add_enum_value', () => {
  const doc = (name: string) => ({ name, operations: [{ add_enum_value: { type: 'mood', value: 'meh', before: 'happy', acknowledge_irreversible: true } }] });

  it('plan says it cannot be rolled back; a rollback leaves the value and nothing else; the same playbook then runs to the end', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(doc('enum_rb'));
    const expand = describePlan(run.plan).find((p) => p.phase === 'expand')!.statements;
    expect(expand.map((s) => s.note)).toEqual(['add "meh" to mood; cannot be rolled back: PostgreSQL cannot remove an enum value, so a rollback leaves it in place']);
    const before = await schemaObjects(db.pool);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    const after = await schemaObjects(db.pool);
    expect(after.enums.find((e) => e.typname === 'mood')).toEqual({ typname: 'mood', labels: ['sad', 'meh', 'happy'] });
    expect({ ...after, enums: after.enums.filter((e) => e.typname !== 'mood') }).toEqual({ ...before, enums: before.enums.filter((e) => e.typname !== 'mood') });

    const again = await engine.runToEnd(doc('enum_again'));
    expect(again.status).toBe('completed');
    expect(await enumLabels(db, 'public.mood')).toEqual(['sad', 'meh', 'happy']);
  });

  it('is its own action, committed before the next one uses the value', async () => {
    const run = await engineFor(db.pool).runToEnd({
      name: 'enum_then_use',
      operations: [
        { add_enum_value: { type: 'level', value: 'mid', after: 'low', acknowledge_irreversible: true } },
        { sql: { up: `CREATE TABLE public.levels AS SELECT 'mid'::public.level AS l`, rollback: 'DROP TABLE IF EXISTS public.levels', lock: 'none' } },
      ],
    });
    expect(run.status).toBe('completed');
    expect((await db.query(`SELECT l::text FROM public.levels`)).rows).toEqual([{ l: 'mid' }]);
    expect(await enumLabels(db, 'public.level')).toEqual(['low', 'mid', 'high']);
  });
});

describe('refused before any DDL, with one line naming the field', () => {
  const fn = { name: 'f1', args: 'email text', returns: 'text', language: 'sql', body: `SELECT email` };
  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['a body that does not compile', { create_function: { ...fn, body: `SELECT split_part(emial, '@', 1)` } }, 'operations[0].create_function.body: column "emial" does not exist'],
    ['a plpgsql syntax error', { create_function: { ...fn, language: 'plpgsql', body: 'BEGIN RETRUN email; END' } }, 'operations[0].create_function.body: syntax error at or near "RETRUN"'],
    ['a taken signature', { create_function: { ...fn, name: 'greet', args: 'name text', body: 'SELECT name' } }, 'operations[0].create_function.name: function public.greet(text) already exists; use replace_function'],
    ['a second statement in the arguments', { create_function: { ...fn, args: `email text) RETURNS text LANGUAGE sql AS 'SELECT 1'; DROP TABLE public.users; CREATE FUNCTION public.f2(email text` } }, 'operations[0].create_function.body: cannot insert multiple commands into a prepared statement'],
    ['a body that closes its quote', { create_function: { ...fn, body: `SELECT email $bellows$; DROP TABLE public.users; --` } }, 'operations[0].create_function.body: unterminated dollar-quoted string at or near "$bellows$; DROP TABLE public.users; --"'],
    ['a missing schema', { create_function: { ...fn, schema: 'nowhere' } }, 'operations[0].create_function.schema: schema nowhere does not exist'],
    ['a new return type', { replace_function: { ...fn, name: 'greet', args: 'who text', returns: 'integer', body: 'SELECT 1' } }, 'operations[0].replace_function.returns: public.greet(text) returns text, and CREATE OR REPLACE cannot make it return integer; create a function of another name instead'],
    ['a renamed parameter', { replace_function: { ...fn, name: 'greet', args: 'whom text', body: 'SELECT whom' } }, 'operations[0].replace_function.args: cannot change name of input parameter "who"'],
    ['no such function to replace', { replace_function: { ...fn, name: 'nothing' } }, 'operations[0].replace_function.name: function public.nothing(text) does not exist; use create_function'],
    ['a function a trigger uses', { drop_function: { name: 'stamp_users', args: '' } }, 'operations[0].drop_function.name: public.stamp_users() is used by trigger users_stamp on table users; drop it first'],
    ['a function a view and a default use', { drop_function: { name: 'shout', args: 'text' } }, 'operations[0].drop_function.name: public.shout(text) is used by default value for column body of table notes, view loud_users; drop them first'],
    ['an argument type that does not exist', { drop_function: { name: 'score', args: 'intt' } }, 'operations[0].drop_function.args: type intt does not exist'],
    ['no such function to drop', { drop_function: { name: 'score', args: 'text' } }, 'operations[0].drop_function.name: function public.score(text) does not exist'],
    ['a type name a table has', { create_enum: { name: 'users', values: ['a'] } }, 'operations[0].create_enum.name: a type or table public.users already exists'],
    ['repeated values', { create_enum: { name: 'twice', values: ['a', 'a'] } }, 'operations[0].create_enum.values: "a" is given twice'],
    ['no acknowledgement', { add_enum_value: { type: 'mood', value: 'glad' } }, 'operations[0].add_enum_value.acknowledge_irreversible: PostgreSQL cannot remove an enum value, so a rollback would leave "glad" in public.mood; set it to true to add it anyway'],
    ['before and after', { add_enum_value: { type: 'mood', value: 'glad', before: 'sad', after: 'sad', acknowledge_irreversible: true } }, 'operations[0].add_enum_value.after: give before or after, not both'],
    ['a type that is no enum', { add_enum_value: { type: 'users', value: 'glad', acknowledge_irreversible: true } }, 'operations[0].add_enum_value.type: public.users is not an enum type'],
    ['a neighbour that is no value', { add_enum_value: { type: 'colour', value: 'green', after: 'pink', acknowledge_irreversible: true } }, 'operations[0].add_enum_value.after: "pink" is not a value of public.colour ("red", "blue")'],
  ];

  it.each(refusals)('%s', async (_what, operation, message) => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await schemaObjects(db.pool);
    const err = await engine.open({ name: 'refused', operations: [operation] }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(message);
    expect(await schemaObjects(db.pool)).toEqual(before);
  });
});

describe('a refused enum value through the CLI', () => {
  it('without acknowledge_irreversible: exit 2, one line naming the field, nothing changed', async () => {
    const file = scratchDir().write('bad.yaml', 'name: enum_unacknowledged\noperations:\n  - add_enum_value: { type: colour, value: green }\n');
    const before = await schemaObjects(db.pool);
    const result = await runCli(['start', file, '--no-progress'], { db: db.url });
    expect(result.code, show(result)).toBe(2);
    expect(stderrLines(result)).toEqual([
      'bellows: operations[0].add_enum_value.acknowledge_irreversible: PostgreSQL cannot remove an enum value, so a rollback would leave "green" in public.colour; set it to true to add it anyway',
    ]);
    expect(await schemaObjects(db.pool)).toEqual(before);
  });
});
