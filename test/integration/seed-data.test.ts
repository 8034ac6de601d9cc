import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandAndBackfill, SMALL_BATCHES, stepsFor, stoppingExecutor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, playbookPath, scratchDir } from '../helpers/cli.ts';
import { compilePlan } from '../../src/engine/compile.ts';
import { createRunWithSeeds } from '../../src/engine/stage-seeds.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { InputError } from '../../src/errors.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';

/**
 * seed_data through every phase: the final rows exactly as the playbook gives
 * them from expand on; a rollback removes the rows it added and puts back the
 * old values of those it changed; a repeat writes nothing.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 20);
  await db.query(`CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL, population bigint, eu boolean, joined date)`);
  await db.query(`INSERT INTO countries VALUES ('fr', 'France', 67000000, true, '1957-03-25'), ('ch', 'Switzerland', 8700000, false, NULL), ('no', 'Norway', 5500000, false, NULL)`);
  await db.query(`CREATE TABLE prices (id bigserial PRIMARY KEY, plan text NOT NULL, currency text NOT NULL, cents int NOT NULL, UNIQUE (currency, plan))`);
  await db.query(`INSERT INTO prices (plan, currency, cents) VALUES ('team', 'EUR', 1100), ('team', 'USD', 1200)`);
  await db.query(`CREATE TABLE items (sku text PRIMARY KEY, title text NOT NULL, cents int, active boolean DEFAULT true, added date)`);
  await db.query(`INSERT INTO items (sku, title, cents, active) SELECT 'k' || g, 'item ' || g, g, g % 2 = 0 FROM generate_series(1, 300) g`);
  await db.query(`CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL)`);
  await db.query(`INSERT INTO products SELECT g, 'Product ' || g FROM generate_series(1, 400) g`);
  await db.query('ANALYZE');
});

async function rows(table: string, orderBy: string): Promise<unknown[]> {
  return (await db.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;
}

interface Case {
  name: string;
  table: string;
  orderBy: string;
  operation: Record<string, unknown>;
  /** The table's rows after expand, at the gate and after contract. */
  after: unknown[];
}

const cases: Case[] = [
  {
    name: 'by a primary key: one row changed, one new, one already equal',
    table: 'countries',
    orderBy: 'code',
    operation: {
      seed_data: {
        table: 'countries',
        key: ['code'],
        rows: [
          { code: 'fr', name: 'France', population: 68000000, eu: true, joined: '1957-03-25' },
          { code: 'de', name: "Germany's", population: '84000000', eu: true, joined: '1957-03-25' },
          { code: 'ch', name: 'Switzerland', population: 8700000, eu: false, joined: null },
        ],
      },
    },
    after: [
      { code: 'ch', name: 'Switzerland', population: '8700000', eu: false, joined: null },
      { code: 'de', name: "Germany's", population: '84000000', eu: true, joined: new Date('1957-03-25T00:00:00') },
      { code: 'fr', name: 'France', population: '68000000', eu: true, joined: new Date('1957-03-25T00:00:00') },
      { code: 'no', name: 'Norway', population: '5500000', eu: false, joined: null },
    ],
  },
  {
    name: 'by a unique index over two columns, given in another order',
    table: 'prices',
    orderBy: 'plan, currency',
    operation: {
      seed_data: {
        table: 'prices',
        key: ['plan', 'currency'],
        rows: [
          { plan: 'team', currency: 'EUR', cents: 1000 },
          { plan: 'business', currency: 'EUR', cents: 4900 },
        ],
      },
    },
    after: [
      { id: '3', plan: 'business', currency: 'EUR', cents: 4900 },
      { id: '1', plan: 'team', currency: 'EUR', cents: 1000 },
      { id: '2', plan: 'team', currency: 'USD', cents: 1200 },
    ],
  },
];

describe.each(cases.map((c, i) => ({ ...c, i })))('seed_data $name', (c) => {
  const doc = (attempt: string) => ({ name: `seed_${c.i}_${attempt}`, operations: [c.operation] });
  const state = async () => ({ rows: await rows(c.table, c.orderBy), catalog: await catalogSnapshot(db.pool) });
  const idsLess = (list: unknown[]) => list.map((r) => ({ ...(r as object), id: undefined }));

  it.each(['expand', 'gate'] as const)('rolled back from %s: the rows and the catalog are exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = await state();
    if (stop === 'expand') await stepsFor(engine.store, db.pool).expand(run.id);
    else expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    // A serial key is not given back by a rollback: compare the rest.
    expect(idsLess(await rows(c.table, c.orderBy))).toEqual(idsLess(c.after));
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await state()).toEqual(before);
  });

  it('runs to the end with the rows exact; run again, it writes nothing', async () => {
    const engine = engineFor(db.pool);
    expect((await engine.runToEnd(doc('run'))).status).toBe('completed');
    const final = await rows(c.table, c.orderBy);
    expect(idsLess(final)).toEqual(idsLess(c.after));
    const versions = (await db.query(`SELECT xmin::text FROM ${c.table} ORDER BY ${c.orderBy}`)).rows;
    expect((await engine.runToEnd(doc('again'))).status).toBe('completed');
    expect(await rows(c.table, c.orderBy)).toEqual(final);
    expect((await db.query(`SELECT xmin::text FROM ${c.table} ORDER BY ${c.orderBy}`)).rows).toEqual(versions);
  });
});

describe('bad seed_data operations', () => {
  const refused = async (seed: Record<string, unknown>, schemaError = false) => {
    const before = await catalogSnapshot(db.pool);
    const err = await engineFor(db.pool).open({ name: 'seed_bad', operations: [{ seed_data: { table: 'countries', key: ['code'], ...seed } }] }).then(() => null, (e: unknown) => e);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    if (!schemaError) expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  };
  const row = (extra: Record<string, unknown> = {}) => ({ code: 'it', name: 'Italy', ...extra });

  it('refuses each before any DDL, with one line naming the field', async () => {
    expect(await refused({ key: ['name'], rows: [row()] })).toBe(
      'operations[0].seed_data.key: public.countries has no primary key or unique index on exactly (name); an upsert finds a row by one',
    );
    expect(await refused({ key: ['code', 'code'], rows: [row()] })).toBe('operations[0].seed_data.key: a column is listed twice');
    expect(await refused({ rows: [{ name: 'Italy' }] })).toBe('operations[0].seed_data.key[0]: the rows do not give key column "code"');
    expect(await refused({ rows: [row({ capital: 'Rome' })] })).toBe('operations[0].seed_data.rows[0].capital: column "capital" does not exist in public.countries');
    expect(await refused({ rows: [row(), { code: 'es' }] })).toBe(
      'operations[0].seed_data.rows[1]: gives (code) but rows[0] gives (code, name); every row gives the same columns',
    );
    expect(await refused({ rows: [row(), row({ code: null })] })).toBe(
      'operations[0].seed_data.rows[1].code: a key column cannot be null (NULLs never conflict: the row would be added again on every run)',
    );
    expect(await refused({ rows: [row(), row({ name: 'Italia' })] })).toBe('operations[0].seed_data.rows[1]: the same key as rows[0]');
    expect(await refused({ rows: [row(), row({ code: 'es', name: null })] })).toBe('operations[0].seed_data.rows[1].name: column "name" is NOT NULL');
    expect(await refused({ rows: [row({ population: 1 }), row({ code: 'es', population: 'many' })] })).toBe(
      `operations[0].seed_data.rows[1].population: invalid input syntax for type bigint: "many"`,
    );
    expect(await refused({ rows: [row({ eu: 1.5 })] })).toBe(`operations[0].seed_data.rows[0].eu: invalid input syntax for type boolean: "1.5"`);
    expect(await refused({ table: 'nope', rows: [row()] })).toBe('operations[0].seed_data.table: table public.nope does not exist');
  });

  it('refuses more rows than a plan keeps, by the playbook schema', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ code: `c${i}`, name: `n${i}` }));
    expect(await refused({ rows: many }, true)).toBe(
      'playbook: operations[0].seed_data.rows: at most 10,000 rows in one operation: the plan keeps the rows they replace to restore them on rollback; give more as a file',
    );
  });
});

describe('seed_data rows at verify', () => {
  it('a seeded row changed or deleted after expand stops verify, naming the row and its key; as given again, verify passes', async () => {
    await db.query(`CREATE TABLE tiers (code text PRIMARY KEY, title text NOT NULL, cents int)`);
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const rows = [{ code: 'free', title: 'Free', cents: 0 }, { code: 'team', title: 'Team', cents: 1200 }, { code: 'gold', title: 'Gold', cents: null }];
    const run = await engine.open({ name: 'tiers_verify', operations: [{ seed_data: { table: 'tiers', key: ['code'], rows } }] });
    await expandAndBackfill(steps, run.id);
    const verify = async () => {
      for (const ref of await steps.prepareVerify(run.id)) await steps.walkRange(run.id, ref);
      await steps.finishVerify(run.id);
    };
    await db.query(`UPDATE tiers SET cents = 1100 WHERE code = 'team'`);
    await expect(verify()).rejects.toThrow('operations[0].seed_data.rows[1]: the row of key (team) is not in public.tiers as given');
    await db.query(`UPDATE tiers SET cents = 1200 WHERE code = 'team'`);
    await db.query(`DELETE FROM tiers WHERE code = 'gold'`);
    await expect(verify()).rejects.toThrow('operations[0].seed_data.rows[2]: the row of key (gold) is not in public.tiers as given');
    await db.query(`INSERT INTO tiers VALUES ('gold', 'Gold', NULL)`);
    await verify();
    expect((await engine.store.getRun(run.id)).phase).toBe('gate');
  });
});

describe('the example playbook on the demo shape', () => {
  it('0020 creates plans and seeds it; rolled back at the gate, nothing is left', async () => {
    const playbook = await loadPlaybook(playbookPath('0020_plans_seed.yaml'));
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const first = await engine.open({ ...playbook, name: '0020_plans_seed_rb' });
    expect(await engine.executor.drive(first, { stopAtGate: true })).toBe('awaiting_approval');
    expect((await rows('plans', 'code')).length).toBe(3);
    await engine.store.setDesired(first.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(first.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    expect((await engine.runToEnd(playbook)).status).toBe('completed');
    expect(await rows('plans', 'code')).toEqual([
      { code: 'business', title: 'Business', monthly_cents: 4900 },
      { code: 'free', title: 'Free', monthly_cents: 0 },
      { code: 'team', title: 'Team', monthly_cents: 1200 },
    ]);
  });
});

/**
 * seed_data from a JSON Lines file next to the playbook: staged at start in the
 * state store, upserted by the backfill in batches, the rows each batch replaces
 * kept beside its lines; a rollback from any point puts the table back exactly.
 */
describe('seed_data from a file', () => {
  const ITEMS = 5000;
  const files = scratchDir();
  /** k1..k100 get a new title, k101..k300 are given as they are, k301.. are new. */
  const line = (i: number) =>
    JSON.stringify({ sku: `k${i}`, title: i <= 100 ? `Item ${i}, renamed` : `item ${i}`, cents: i, active: i % 2 === 0, ...(i > 300 ? { added: '2026-01-02' } : { added: null }) });
  files.write('items.jsonl', Array.from({ length: ITEMS }, (_, i) => line(i + 1)).join('\n') + '\n');
  const doc = (name: string, extra: Record<string, unknown> = {}) => ({ name, settings: SMALL_BATCHES, operations: [{ seed_data: { table: 'items', key: ['sku'], file: 'items.jsonl', ...extra } }] });
  const items = async () => (await db.query(`SELECT row_to_json(i)::text AS r FROM items i ORDER BY sku`)).rows.map((r) => r.r as string);
  const staged = async () => (await db.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'bellows' AND tablename LIKE 'seed\\_%'`)).rows[0].n;
  const original = async () => {
    const { rows } = await db.query(`SELECT row_to_json(i)::text AS r FROM (SELECT 'k' || g AS sku, 'item ' || g AS title, g AS cents, g % 2 = 0 AS active, NULL::date AS added FROM generate_series(1, 300) g) i ORDER BY sku`);
    return rows.map((r) => r.r as string);
  };
  const expected = async () => {
    const { rows } = await db.query(
      `SELECT row_to_json(i)::text AS r FROM (
         SELECT 'k' || g AS sku, CASE WHEN g <= 100 THEN 'Item ' || g || ', renamed' ELSE 'item ' || g END AS title, g AS cents, g % 2 = 0 AS active,
                CASE WHEN g > 300 THEN date '2026-01-02' END AS added
           FROM generate_series(1, ${ITEMS}) g) i ORDER BY sku`,
    );
    return rows.map((r) => r.r as string);
  };

  it('rolled back mid-seed: the rows it replaced get their values back, the rows it added go, nothing is left', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = { rows: await items(), catalog: await catalogSnapshot(db.pool) };
    expect(before.rows).toEqual(await original());
    const run = await engine.open(doc('items_mid'), files.dir);
    expect(await stoppingExecutor(db.pool, 'backfill', 8).drive(run, { stopAtGate: true })).toBe('stopped');
    const [range] = await engine.store.getRanges(run.id, 'backfill');
    expect(range).toMatchObject({ table: 'public.items (operations[0].seed_data)', done: false });
    expect(range.rowsDone).toBeGreaterThanOrEqual(8 * 10);
    expect(range.rowsDone).toBeLessThan(ITEMS);
    // Part written: the first lines (k1…) replaced, with what they replaced kept in the state store.
    const { rows } = await db.query(`SELECT count(*) FILTER (WHERE existed)::int AS replaced, count(*) FILTER (WHERE existed IS NOT NULL)::int AS done FROM bellows.seed_items_mid_0`);
    expect(rows[0].done).toBe(range.rowsDone);
    expect(rows[0].replaced).toBe(Math.min(300, range.rowsDone));
    expect(await items()).not.toEqual(before.rows);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await items()).toEqual(before.rows);
    expect(await catalogSnapshot(db.pool)).toEqual(before.catalog);
    expect(await staged()).toBe(0);
  });

  it('rolled back at the gate: exactly as before', async () => {
    const engine = engineFor(db.pool);
    const before = { rows: await items(), catalog: await catalogSnapshot(db.pool) };
    expect(before.rows).toEqual(await original());
    const run = await engine.open(doc('items_gate'), files.dir);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    expect(await items()).toEqual(await expected());
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await items()).toEqual(before.rows);
    expect(await catalogSnapshot(db.pool)).toEqual(before.catalog);
  });

  it('verify walks the staged lines: a seeded row changed after the backfill stops the run, naming its line; a rollback then puts the table back', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const before = await items();
    const run = await engine.open(doc('items_verify'), files.dir);
    await expandAndBackfill(steps, run.id);
    await db.query(`UPDATE items SET title = 'changed' WHERE sku = 'k50'`);
    const walk = async () => {
      for (const ref of await steps.prepareVerify(run.id)) await steps.walkRange(run.id, ref);
    };
    await expect(walk()).rejects.toThrow(
      'verify failed on public.items (operations[0].seed_data): key 50: the row items.jsonl gives on this line (the key shown) is not in public.items as given',
    );
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await items()).toEqual(before);
  });

  it('runs to the end with every row exact, in batches; run again, it writes nothing', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd(doc('items_run'), files.dir);
    expect(run.status).toBe('completed');
    expect(await items()).toEqual(await expected());
    const [range] = await engine.store.getRanges(run.id, 'backfill');
    expect(range).toMatchObject({ rowsDone: ITEMS, done: true });
    expect(range.batches).toBeGreaterThan(ITEMS / SMALL_BATCHES.maxBatchSize - 1);
    expect(await staged()).toBe(0);
    const versions = (await db.query(`SELECT xmin::text FROM items ORDER BY sku`)).rows;
    expect((await engine.runToEnd(doc('items_again'), files.dir)).status).toBe('completed');
    expect((await db.query(`SELECT xmin::text FROM items ORDER BY sku`)).rows).toEqual(versions);
  });

  it('its rows are written as the old application writes: another operation\'s trigger gives them their new column', async () => {
    files.write('products.jsonl', Array.from({ length: 600 }, (_, i) => JSON.stringify({ id: i + 201, name: `Product ${i + 201}` })).join('\n'));
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd(
      {
        name: 'products_slug',
        settings: SMALL_BATCHES,
        operations: [
          { add_column: { table: 'products', name: 'slug', type: 'text', nullable: false, up: `lower(replace(name, ' ', '-'))` } },
          { seed_data: { table: 'products', key: ['id'], file: 'products.jsonl' } },
        ],
      },
      files.dir,
    );
    expect(run.status).toBe('completed');
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE slug = 'product-' || id)::int AS ok FROM products`);
    expect(rows[0]).toEqual({ n: 800, ok: 800 });
  });

  it('refuses a file that changed after the plan was made, and creates no run', async () => {
    const path = files.write('changing.jsonl', '{"sku": "z1", "title": "Z"}\n');
    const plan = await compilePlan(db.pool, parsePlaybook({ name: 'items_changing', operations: [{ seed_data: { table: 'items', key: ['sku'], file: 'changing.jsonl' } }] }), 'bellows', files.dir);
    writeFileSync(path, '{"sku": "z1", "title": "Zed"}\n');
    const store = engineFor(db.pool).store;
    const err = await createRunWithSeeds(db.pool, store, 'items_changing', plan, () => Promise.reject(new Error('no run should be created'))).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err!.message).toBe(`seed file ${path} changed since the plan was made (its SHA-256 differs); start again`);
    expect(await staged()).toBe(0);
  });

  it('refuses bad files before any DDL, each with one line naming the field and the line', async () => {
    mkdirSync(join(files.dir, 'sub'), { recursive: true });
    const outside = scratchDir();
    outside.write('secret.jsonl', '{"sku": "s1", "title": "S"}\n');
    symlinkSync(join(outside.dir, 'secret.jsonl'), join(files.dir, 'sub', 'link.jsonl'));
    const refused = async (file: string, content: string | null, directory: string | null = files.dir) => {
      if (content !== null) files.write(file, content);
      const before = await catalogSnapshot(db.pool);
      const err = await engineFor(db.pool).open(doc('items_bad', { file }), directory ?? undefined).then(() => null, (e: unknown) => e);
      expect(await catalogSnapshot(db.pool)).toEqual(before);
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    };
    const at = 'operations[0].seed_data.file';
    expect(await refused('items.jsonl', null, null)).toBe(`${at}: a seed file is found next to its playbook, and this playbook was not read from a file`);
    expect(await refused('nope.jsonl', null)).toBe(`${at}: cannot read "nope.jsonl" (no such file)`);
    expect(await refused('../items.jsonl', null)).toBe(`${at}: "../items.jsonl" is outside the playbook's directory; give a path relative to it, inside it`);
    expect(await refused(join(files.dir, 'items.jsonl'), null)).toMatch(/is outside the playbook's directory; give a path relative to it, inside it$/);
    expect(await refused('sub/link.jsonl', null)).toBe(`${at}: "sub/link.jsonl" leads outside the playbook's directory`);
    expect(await refused('empty.jsonl', '\n')).toBe(`${at}: "empty.jsonl" has no rows`);
    expect(await refused('bad.jsonl', '{"sku": "a", "title": "A"}\n{"sku": "b", "title": \n')).toMatch(new RegExp(`^${at.replace(/[.[\]]/g, '\\$&')}: line 2: not valid JSON: `));
    expect(await refused('bad.jsonl', '["a", "A"]\n')).toBe(`${at}: line 1: not a JSON object (one row per line, e.g. {"code": "fr", "name": "France"})`);
    expect(await refused('bad.jsonl', '{"sku": "a", "title": {"en": "A"}}\n')).toBe(`${at}: line 1: "title" is an object; a value is a string, a number, a boolean or null`);
    expect(await refused('bad.jsonl', '{"sku": "a", "title": "A"}\n\n{"sku": "b"}\n')).toBe(`${at}: line 3: gives (sku) but line 1 gives (sku, title); every row gives the same columns`);
    expect(await refused('bad.jsonl', '{"sku": "a", "title": "A", "colour": "red"}\n')).toBe(`${at}: line 1: "colour": column "colour" does not exist in public.items`);
    expect(await refused('bad.jsonl', '{"title": "A"}\n')).toBe('operations[0].seed_data.key[0]: the rows do not give key column "sku"');
    expect(await refused('bad.jsonl', '{"sku": "a", "title": "A"}\n{"sku": null, "title": "B"}\n')).toBe(
      `${at}: line 2: "sku": a key column cannot be null (NULLs never conflict: the row would be added again on every run)`,
    );
    expect(await refused('bad.jsonl', '{"sku": "a", "title": null}\n')).toBe(`${at}: line 1: "title": column "title" is NOT NULL`);
    const many = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ sku: `m${i + 1}`, title: 'M', cents: i === 2345 ? 'lots' : i }));
    expect(await refused('bad.jsonl', many.join('\n'))).toBe(`${at}: line 2346: "cents": invalid input syntax for type integer: "lots"`);
    many[2345] = JSON.stringify({ sku: 'm12', title: 'again', cents: 1 });
    expect(await refused('bad.jsonl', many.join('\n'))).toBe(`${at}: line 2346: the same key as line 12`);
  });

  it('refuses both rows and a file, or neither, by the playbook schema', async () => {
    for (const seed of [{ rows: [{ sku: 'a', title: 'A' }], file: 'items.jsonl' }, {}]) {
      const err = await engineFor(db.pool).open({ name: 'items_both', operations: [{ seed_data: { table: 'items', key: ['sku'], ...seed } }] }, files.dir).then(() => null, (e: Error) => e.message);
      expect(err).toBe('playbook: operations[0].seed_data.rows: give rows or file, one of the two');
    }
  });
});
