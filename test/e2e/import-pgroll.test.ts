import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook, playbookChecksum } from '../../src/playbook/load.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';

/**
 * `bellows import pgroll` as a user runs it: a directory of pgroll migrations
 * (written for this test) becomes playbooks that bellows runs; one that cannot be
 * converted leaves nothing behind; `--history` makes what pgroll applied count as
 * applied.
 */

const ROWS = 500;
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
});

const ADD_PLAN = { operations: [{ add_column: { table: 'users', column: { name: 'plan', type: 'text', default: "'free'" } } }] };
const NAME_INDEX = ['operations:', '  - create_index:', '      name: users_name_idx', '      table: users', '      columns:', '        - column: name', ''].join('\n');
const DROP_NAME_INDEX = { operations: [{ drop_index: { name: 'users_name_idx' } }] };

describe('a directory of pgroll migrations', () => {
  const input = scratchDir();
  input.write('01_Add_Plan.json', JSON.stringify(ADD_PLAN));
  input.write('02_name_index.yaml', NAME_INDEX);
  input.write('03_drop_name_index.json', JSON.stringify(DROP_NAME_INDEX));
  input.write('notes.txt', 'not a migration: ignored, as pgroll ignores it');
  const out = join(scratchDir().dir, 'playbooks');

  it('becomes one playbook per migration, each loading as a bellows playbook', async () => {
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      `wrote ${join(out, '01_add_plan.yaml')} (from 01_Add_Plan.json)`,
      `wrote ${join(out, '02_name_index.yaml')} (from 02_name_index.yaml)`,
      `wrote ${join(out, '03_drop_name_index.yaml')} (from 03_drop_name_index.json)`,
    ]);
    expect(readdirSync(out).sort()).toEqual(['01_add_plan.yaml', '02_name_index.yaml', '03_drop_name_index.yaml']);
    expect((await loadPlaybook(join(out, '01_add_plan.yaml'))).operations).toEqual([
      { add_column: { table: 'users', name: 'plan', type: 'text', nullable: false, default: "'free'" } },
    ]);
    expect((await loadPlaybook(join(out, '03_drop_name_index.yaml'))).operations).toEqual([{ drop_index: { table: 'users', name: 'users_name_idx' } }]);
  });

  it('importing again writes the same files (no change, no error)', async () => {
    const before = readFileSync(join(out, '01_add_plan.yaml'), 'utf8');
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out]);
    expect(r.code, show(r)).toBe(0);
    expect(readFileSync(join(out, '01_add_plan.yaml'), 'utf8')).toBe(before);
  });

  it('bellows start runs a converted playbook end to end', async () => {
    const started = await runCli(['start', join(out, '01_add_plan.yaml'), '--no-progress'], { db: db.url });
    expect(started.code, show(started)).toBe(0);
    const id = /run (\d+) started/.exec(started.stdout)?.[1];
    expect(id, show(started)).toBeDefined();
    const approved = await runCli(['approve', id!], { db: db.url });
    expect(approved.code, show(approved)).toBe(0);
    expect(approved.stdout).toContain(`run ${id} completed`);
    const column = await db.query(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'public.users'::regclass AND a.attname = 'plan'`,
    );
    expect(column.rows).toEqual([{ type: 'text', notnull: true, def: "'free'::text" }]);
    const plans = await db.query(`SELECT plan, count(*)::int AS n FROM users GROUP BY plan`);
    expect(plans.rows).toEqual([{ plan: 'free', n: ROWS }]);
  });
});

describe('--schema, and raw SQL that must run outside a transaction block', () => {
  // pgroll's migrations name their tables without a schema: pgroll --schema shop runs them in shop.
  const ADD_SKU = { operations: [{ add_column: { table: 'items', column: { name: 'sku', type: 'text', nullable: true } } }] };
  const SKU_INDEX = {
    operations: [{ sql: { up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_sku_idx ON shop.items (sku)', down: 'DROP INDEX CONCURRENTLY IF EXISTS shop.items_sku_idx' } }],
  };
  const input = scratchDir();
  input.write('20_add_sku.json', JSON.stringify(ADD_SKU));
  input.write('21_sku_index.json', JSON.stringify(SKU_INDEX));
  const out = join(scratchDir().dir, 'playbooks');

  const skuIndex = async () =>
    (await db.query(`SELECT indexrelid::regclass::text AS name, indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('shop.items_sku_idx')`)).rows;
  const startedId = async (file: string) => {
    const started = await runCli(['start', join(out, file), '--no-progress'], { db: db.url });
    expect(started.code, show(started)).toBe(0);
    return /run (\d+) started/.exec(started.stdout)![1];
  };

  it('qualifies every table with the schema; the CONCURRENTLY index runs outside a transaction, is rolled back, and built', async () => {
    // public.items exists too: an unqualified name would silently change it instead.
    await db.query(`CREATE SCHEMA shop; CREATE TABLE shop.items (id bigserial PRIMARY KEY, name text); CREATE TABLE public.items (id bigserial PRIMARY KEY)`);
    await db.query(`INSERT INTO shop.items (name) SELECT 'item ' || g FROM generate_series(1, 50) g`);
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out, '--schema', 'shop']);
    expect(r.code, show(r)).toBe(0);
    expect((await loadPlaybook(join(out, '21_sku_index.yaml'))).operations).toEqual([
      {
        sql: {
          schema: 'shop',
          up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_sku_idx ON shop.items (sku)',
          rollback: 'DROP INDEX CONCURRENTLY IF EXISTS shop.items_sku_idx',
          lock: 'share_update_exclusive',
          in_transaction: false,
          phase: 'expand',
        },
      },
    ]);

    const add = await startedId('20_add_sku.yaml');
    expect((await runCli(['approve', add], { db: db.url })).stdout).toContain(`run ${add} completed`);
    const columns = await db.query(`SELECT attrelid::regclass::text AS rel, attname FROM pg_attribute WHERE attname = 'sku' AND attnum > 0 AND NOT attisdropped AND attrelid IN ('shop.items'::regclass, 'public.items'::regclass)`);
    expect(columns.rows).toEqual([{ rel: 'shop.items', attname: 'sku' }]);

    // In a transaction block PostgreSQL would refuse CREATE INDEX CONCURRENTLY: the run reaching the gate shows it ran outside one.
    const first = await startedId('21_sku_index.yaml');
    expect(await skuIndex()).toEqual([{ name: 'shop.items_sku_idx', valid: true }]);
    const rolledBack = await runCli(['rollback', first], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(await skuIndex()).toEqual([]);

    const second = await startedId('21_sku_index.yaml');
    expect((await runCli(['approve', second], { db: db.url })).stdout).toContain(`run ${second} completed`);
    expect(await skuIndex()).toEqual([{ name: 'shop.items_sku_idx', valid: true }]);
  });
});

describe('a directory with one migration bellows cannot express', () => {
  it('writes nothing, exits 2 and says why in one line', async () => {
    const input = scratchDir();
    input.write('01_add_plan.json', JSON.stringify(ADD_PLAN));
    input.write('02_name_index.yaml', NAME_INDEX);
    input.write(
      '03_add_rating.json',
      JSON.stringify({
        operations: [
          { add_column: { table: 'users', column: { name: 'rating', type: 'int', nullable: true } } },
          { set_replica_identity: { table: 'users', identity: { type: 'full' } } },
        ],
      }),
    );
    const out = join(scratchDir().dir, 'playbooks');
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out]);
    expect(r.code, show(r)).toBe(2);
    expect(stderrLines(r)).toEqual([
      `bellows: import: 03_add_rating.json: operations[1].set_replica_identity: bellows has no operation for a replica identity yet; nothing was written`,
    ]);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});

describe('--history', () => {
  const CREATE_ORDERS = {
    operations: [
      {
        create_table: {
          name: 'orders',
          columns: [
            { name: 'id', type: 'bigserial', pk: true },
            { name: 'user_id', type: 'bigint', references: { name: 'orders_user_id_fkey', table: 'users', column: 'id' } },
          ],
        },
      },
    ],
  };
  const ORDERS_INDEX = { operations: [{ create_index: { name: 'orders_user_idx', table: 'orders', columns: [{ column: 'user_id' }] } }] };
  const input = scratchDir();
  input.write('10_create_orders.json', JSON.stringify(CREATE_ORDERS));
  input.write('11_orders_index.json', JSON.stringify(ORDERS_INDEX));
  const out = join(scratchDir().dir, 'playbooks');

  it('without a pgroll schema in the database: one line, exit 2, nothing written', async () => {
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out, '--history'], { db: db.url });
    expect(r.code, show(r)).toBe(2);
    expect(stderrLines(r)).toEqual([
      'bellows: import: --history: no pgroll.migrations table in this database: pgroll has not been used here; nothing was written',
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it('records the migrations pgroll completed, so history lists them and start refuses them', async () => {
    // pgroll's state table, shaped as pgroll creates it (pkg/state/init.sql), with what pgroll would have recorded.
    await db.query(`CREATE SCHEMA pgroll`);
    await db.query(`
      CREATE TABLE pgroll.migrations (
        schema           name NOT NULL,
        name             text NOT NULL,
        migration        jsonb NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT current_timestamp,
        updated_at       timestamptz NOT NULL DEFAULT current_timestamp,
        parent           text,
        done             boolean NOT NULL DEFAULT false,
        resulting_schema jsonb NOT NULL DEFAULT '{}'::jsonb,
        migration_type   varchar(32) DEFAULT 'pgroll' CHECK (migration_type IN ('pgroll', 'inferred', 'baseline')),
        PRIMARY KEY (schema, name),
        FOREIGN KEY (schema, parent) REFERENCES pgroll.migrations (schema, name)
      )`);
    const insert = `INSERT INTO pgroll.migrations (schema, name, migration, created_at, parent, done, migration_type) VALUES ('public', $1, $2, $3, $4, $5, $6)`;
    await db.query(insert, ['10_create_orders', CREATE_ORDERS, '2026-01-02T03:04:05Z', null, true, 'pgroll']);
    await db.query(insert, ['sql_0123abcd', { operations: [{ sql: { up: 'CREATE TABLE scratch (id int)' } }] }, '2026-01-03T00:00:00Z', '10_create_orders', true, 'inferred']);
    await db.query(insert, ['11_orders_index', ORDERS_INDEX, '2026-01-04T00:00:00Z', 'sql_0123abcd', true, 'pgroll']);
    await db.query(insert, ['12_in_progress', { operations: [{ drop_table: { name: 'orders' } }] }, '2026-01-05T00:00:00Z', '11_orders_index', false, 'pgroll']);

    const r = await runCli(['import', 'pgroll', input.dir, '--out', out, '--history'], { db: db.url });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('recorded 2 migration(s) from pgroll.migrations as applied: 10_create_orders, 11_orders_index');

    const listed = await runCli(['history', '--json'], { db: db.url });
    expect(listed.code, show(listed)).toBe(0);
    const rows = (JSON.parse(listed.stdout) as Array<{ playbookName: string; checksum: string; runId: string | null; appliedAt: string }>).filter((h) =>
      h.playbookName.startsWith('1'),
    );
    const checksums = await Promise.all(['10_create_orders', '11_orders_index'].map(async (n) => playbookChecksum(await loadPlaybook(join(out, `${n}.yaml`)))));
    expect(rows).toEqual([
      { playbookName: '10_create_orders', checksum: checksums[0], runId: null, appliedAt: '2026-01-02T03:04:05.000Z' },
      { playbookName: '11_orders_index', checksum: checksums[1], runId: null, appliedAt: '2026-01-04T00:00:00.000Z' },
    ]);

    const human = await runCli(['history'], { db: db.url });
    expect(human.stdout).toMatch(/^10_create_orders\s+import\s+2026-01-02T03:04:05\.000Z/m);

    const again = await runCli(['start', join(out, '10_create_orders.yaml'), '--no-progress'], { db: db.url });
    expect(again.code, show(again)).toBe(1);
    expect(stderrLines(again)).toEqual(['bellows: playbook 10_create_orders is already applied (imported)']);
    expect((await db.query(`SELECT to_regclass('public.orders') AS t`)).rows[0].t).toBeNull();

    // pgroll keeps one history per schema: --schema shop records shop's only, its tables qualified as the file's are.
    const SHOP_DROP = { operations: [{ drop_table: { name: 'archive' } }] };
    await db.query(insert.replace("VALUES ('public'", "VALUES ('shop'"), ['30_shop_drop_archive', SHOP_DROP, '2026-02-01T00:00:00Z', null, true, 'pgroll']);
    const shopInput = scratchDir();
    shopInput.write('30_shop_drop_archive.json', JSON.stringify(SHOP_DROP));
    const shopOut = join(scratchDir().dir, 'playbooks');
    const shop = await runCli(['import', 'pgroll', shopInput.dir, '--out', shopOut, '--history', '--schema', 'shop'], { db: db.url });
    expect(shop.code, show(shop)).toBe(0);
    expect(shop.stdout).toContain('recorded 1 migration(s) from pgroll.migrations as applied: 30_shop_drop_archive');
    const shopPlaybook = await loadPlaybook(join(shopOut, '30_shop_drop_archive.yaml'));
    expect(shopPlaybook.operations).toEqual([{ drop_table: { table: 'shop.archive' } }]);
    const recorded = (JSON.parse((await runCli(['history', '--json'], { db: db.url })).stdout) as Array<{ playbookName: string; checksum: string }>).find(
      (h) => h.playbookName === '30_shop_drop_archive',
    );
    expect(recorded?.checksum).toBe(playbookChecksum(shopPlaybook));
  });
});

describe("pgroll's constraints whose up/down repair the rows", () => {
  const NAME_LOWER = {
    operations: [
      {
        alter_column: {
          table: 'users',
          column: 'name',
          check: { name: 'users_name_lower', constraint: 'name = lower(name)' },
          unique: { name: 'users_name_key' },
          up: 'lower(name)',
          down: 'name',
        },
      },
    ],
  };
  const TEAM_FK = {
    operations: [
      {
        alter_column: {
          table: 'users',
          column: 'team_id',
          references: { name: 'users_team_fkey', table: 'teams', column: 'id', on_delete: 'SET NULL' },
          up: 'CASE WHEN team_id IN (1, 2) THEN team_id END',
          down: 'team_id',
        },
      },
    ],
  };
  const EMAIL_LOWER = {
    operations: [
      {
        create_constraint: {
          table: 'users',
          name: 'users_email_lower',
          type: 'check',
          columns: ['email'],
          check: 'email = lower(email)',
          up: { email: 'lower(email)' },
          down: { email: 'email' },
        },
      },
    ],
  };
  const input = scratchDir();
  input.write('20_name_lower.json', JSON.stringify(NAME_LOWER));
  input.write('21_team_fk.json', JSON.stringify(TEAM_FK));
  input.write('22_email_lower.json', JSON.stringify(EMAIL_LOWER));
  const out = join(scratchDir().dir, 'playbooks');

  beforeAll(async () => {
    await db.query(`CREATE TABLE teams (id bigint PRIMARY KEY)`);
    await db.query(`INSERT INTO teams VALUES (1), (2)`);
    await db.query(`ALTER TABLE users ADD COLUMN team_id bigint`);
    await db.query(`UPDATE users SET team_id = id % 3`);
  });

  it('convert to alter_column and create_constraint with up/down, which bellows runs end to end', async () => {
    const r = await runCli(['import', 'pgroll', input.dir, '--out', out]);
    expect(r.code, show(r)).toBe(0);
    const operations = async (n: string) => (await loadPlaybook(join(out, `${n}.yaml`))).operations;
    expect(await operations('20_name_lower')).toEqual([
      {
        alter_column: {
          table: 'users',
          column: 'name',
          check: { name: 'users_name_lower', expression: 'name = lower(name)' },
          unique: { name: 'users_name_key' },
          up: 'lower(name)',
          down: 'name',
        },
      },
    ]);
    expect(await operations('21_team_fk')).toEqual([
      {
        alter_column: {
          table: 'users',
          column: 'team_id',
          references: { name: 'users_team_fkey', table: 'teams', column: 'id', on_delete: 'set null' },
          up: 'CASE WHEN team_id IN (1, 2) THEN team_id END',
          down: 'team_id',
        },
      },
    ]);
    // create_constraint is bellows' operation too: it comes through as pgroll wrote it.
    expect(await operations('22_email_lower')).toEqual(EMAIL_LOWER.operations);

    for (const name of ['20_name_lower', '21_team_fk', '22_email_lower']) {
      const started = await runCli(['start', join(out, `${name}.yaml`), '--no-progress'], { db: db.url });
      expect(started.code, show(started)).toBe(0);
      const id = /run (\d+) started/.exec(started.stdout)?.[1];
      const approved = await runCli(['approve', id!], { db: db.url });
      expect(approved.code, show(approved)).toBe(0);
      expect(approved.stdout).toContain(`run ${id} completed`);
    }

    const { rows: constraints } = await db.query(
      `SELECT conname, convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'public.users'::regclass AND contype <> 'p' ORDER BY conname`,
    );
    expect(constraints).toEqual([
      { conname: 'users_email_lower', convalidated: true, def: 'CHECK ((email = lower(email)))' },
      { conname: 'users_name_key', convalidated: true, def: 'UNIQUE (name)' },
      { conname: 'users_name_lower', convalidated: true, def: 'CHECK ((name = lower(name)))' },
      { conname: 'users_team_fkey', convalidated: true, def: 'FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE SET NULL' },
    ]);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE name = 'user ' || id AND email = lower('User' || id || '@Example.COM'))::int AS repaired,
              count(*) FILTER (WHERE team_id IS NOT DISTINCT FROM nullif(id % 3, 0))::int AS teams
         FROM users`,
    );
    expect(rows).toEqual([{ n: ROWS, repaired: ROWS, teams: ROWS }]);
  });
});
