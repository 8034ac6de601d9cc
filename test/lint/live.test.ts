import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { catalogSnapshot, describe as show, playbookPath, runCli, scratchDir } from '../helpers/cli.ts';

/** `bellows lint --database-url`: live sizes, volatility and rows, read-only; and `plan` showing the same findings. */

const ROWS = 20_000; // above the 10,000 rows from which a rewrite counts as large
let db: TestDatabase;
const scratch = scratchDir();

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  await db.query(`CREATE TABLE tiny (id int PRIMARY KEY); INSERT INTO tiny SELECT generate_series(1, 5); ANALYZE tiny`);
});

function addToken(table: string): string {
  return scratch.write(
    `token_${table}.yaml`,
    `name: token_${table}
operations:
  - sql:
      up: ALTER TABLE ${table} ADD COLUMN token float8 DEFAULT random()
      rollback: ALTER TABLE ${table} DROP COLUMN IF EXISTS token
      lock: access_exclusive
`,
  );
}

const lint = (...args: string[]) => runCli(['lint', ...args], { db: db.url });

describe('bellows lint with a database', () => {
  it('a volatile default is an error on a large table (its live size named), and quiet on a small one', async () => {
    const before = await catalogSnapshot(db.pool);
    const [large, small] = await Promise.all([lint(addToken('users')), lint(addToken('tiny'))]);
    expect(large.code, show(large)).toBe(1);
    expect(large.stdout).toMatch(/operations\[0\]\.sql\.up {2}error {2}volatile-default {2}public\.users\.token gets a volatile default \(random\(\)\): a rewrite of ~20000 rows/);
    expect(small.code, show(small)).toBe(0);
    expect(small.stdout).toContain('0 finding(s)');
    // Lint reads, never writes: the schema is as it was.
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('down(up(x)) that differs from x on live rows is caught, with an example; an exact inverse passes', async () => {
    const alter = (name: string, up: string, down: string) =>
      scratch.write(`${name}.yaml`, `name: ${name}\noperations:\n  - alter_column:\n      table: users\n      column: email\n      type: citext\n      up: ${up}\n      down: ${down}\n`);
    const [caught, exact, example] = await Promise.all([
      lint(alter('lossy_email', 'lower(email)', 'email::text')),
      lint(alter('exact_email', 'email::citext', 'email::text')),
      // The example lowers emails on purpose, and says so in its lint.disable.
      lint(playbookPath('0001_users_email_citext.yaml')),
    ]);
    expect(caught.code, show(caught)).toBe(1);
    expect(caught.stdout).toMatch(/operations\[0\]\.alter_column\.down {2}error {2}down-inverts {2}down\(up\(email\)\) differs from email on 1000 of 1000 sampled rows, e\.g\. email 'User\d+@Example\.COM'/);
    expect(exact.code, show(exact)).toBe(0);
    expect(example.code, show(example)).toBe(0);
  });

  it('a split whose down loses a part is caught; the example split, which gives the name back, passes', async () => {
    const lossy = scratch.write(
      'lossy_split.yaml',
      `name: lossy_split
operations:
  - split_column:
      table: users
      column: name
      into:
        - { name: first_name, type: text, up: "split_part(name, ' ', 1)" }
        - { name: last_name, type: text, up: "split_part(name, ' ', 2)" }
      down: first_name
`,
    );
    const [caught, example] = await Promise.all([lint(lossy), lint(playbookPath('0025_users_split_name.yaml'))]);
    expect(caught.code, show(caught)).toBe(1);
    expect(caught.stdout).toMatch(/operations\[0\]\.split_column\.down {2}error {2}down-inverts {2}down\(up\(name\)\) differs from name on 1000 of 1000 sampled rows, e\.g\. name 'User \d+'/);
    expect(example.code, show(example)).toBe(0);
  });

  it('plan shows the findings of a statement with it, and none for the statements bellows compiles', async () => {
    const [unsafe, rename, notNull] = await Promise.all([
      runCli(['plan', addToken('users')], { db: db.url }),
      runCli(['plan', playbookPath('0003_users_rename_name.yaml')], { db: db.url }),
      runCli(['plan', playbookPath('0002_users_add_plan.yaml')], { db: db.url }),
    ]);
    expect([unsafe.code, rename.code, notNull.code], show(unsafe)).toEqual([0, 0, 0]);
    expect(unsafe.stdout).toMatch(/\n-- lint: error volatile-default: public\.users\.token [^\n]*; safe: the add_column operation[^\n]*\n-- raw SQL from the playbook; lock: ACCESS EXCLUSIVE \(as the playbook declares\)\nALTER TABLE users ADD COLUMN token/);
    // bellows' own rename and its SET NOT NULL after a validated CHECK are safe.
    expect(rename.stdout).toContain('RENAME');
    expect(notNull.stdout).toContain('SET NOT NULL');
    expect(rename.stdout + notNull.stdout).not.toContain('-- lint:');
  });
});
