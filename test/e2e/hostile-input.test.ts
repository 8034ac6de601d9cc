import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines, tableDigest, type CliResult } from '../helpers/cli.ts';

/**
 * Input written to do harm, through the CLI as an operator would give it: a
 * playbook or a flag may be refused, or may stop its run, but it never deletes
 * a row, never leaves the catalog changed by `plan` or by a refused `start`, and
 * never answers with more than one short, printable line on stderr.
 */

const SECRET = 'Hostile5ecretPw';

let db: TestDatabase;
const files = scratchDir();

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 1000);
  // The state schema exists, as on any database bellows was used on: a refused `start` must leave it as it was.
  const history = await runCli(['history'], { db: db.url });
  expect(history.code, show(history)).toBe(0);
});

/** A refusal or a stopped run: the exit code, one `bellows: …` line of at most 300 printable characters, no stack. */
function expectOneLine(r: CliResult, code: 1 | 2, pattern: RegExp): void {
  const lines = stderrLines(r);
  expect(r.code, show(r)).toBe(code);
  expect(lines, show(r)).toHaveLength(1);
  expect(lines[0].length, show(r)).toBeLessThanOrEqual(300);
  expect(lines[0], show(r)).toMatch(/^bellows: [\x20-\x7e…]+$/);
  expect(lines[0], show(r)).toMatch(pattern);
  expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
}

/** The catalog and the users table's rows, to compare before and after a command. */
async function everything() {
  return { catalog: await catalogSnapshot(db.pool), users: await tableDigest(db.pool, 'users'), runs: await runCount() };
}

async function runCount(): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM bellows.runs`)).rows[0].n;
}

/** Raw bytes, as scratchDir's text files cannot hold them. */
function junkFile(bytes: Buffer): string {
  const path = join(files.dir, 'junk.yaml');
  writeFileSync(path, bytes);
  return path;
}

const yamlString = (s: string) => JSON.stringify(s);
const playbook = (name: string, settings: string) =>
  `name: ${name}\nsettings:\n${settings}operations:\n  - alter_column: {table: users, column: email, up: lower(email), down: email}\n`;
const withThrottle = (name: string, query: string) => playbook(name, `  throttleQuery: ${yamlString(query)}\n`);

describe('refused by plan and by start, with nothing changed', () => {
  const DELETE_ONE = `WITH d AS (DELETE FROM users WHERE id IN (SELECT id FROM users LIMIT 1) RETURNING 1) SELECT false`;
  const manyMalformed = `name: p_many\noperations:\n${'  - {add_column: {table: users}}\n'.repeat(10_000)}`;
  const junk = Buffer.alloc(3072);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 256;

  const cases: Array<[string, string, RegExp]> = [
    ['a throttleQuery that deletes rows', files.write('delete.yaml', withThrottle('p_delete', DELETE_ONE)), /throttleQuery: it writes \(cannot execute SELECT in a read-only transaction\)/],
    ['a second statement in throttleQuery', files.write('drop.yaml', withThrottle('p_drop', 'SELECT 0; DROP TABLE users')), /throttleQuery: it is more than one statement/],
    ['a throttleQuery of two columns', files.write('cols.yaml', withThrottle('p_cols', 'SELECT true, false')), /throttleQuery: it returned 2 columns/],
    ['a throttleQuery returning no row', files.write('norow.yaml', withThrottle('p_norow', 'SELECT true WHERE false')), /throttleQuery: it returned no row/],
    ['a throttleQuery that is not boolean', files.write('int.yaml', withThrottle('p_int', 'SELECT count(*) FROM users')), /throttleQuery: it returned a column of type bigint/],
    ['a throttleQuery that does not parse', files.write('parse.yaml', withThrottle('p_parse', 'SELEC true')), /throttleQuery: syntax error at or near "SELEC"/],
    ['a NUL character in an identifier', files.write('nul.yaml', 'name: p_nul\noperations:\n  - add_column: {table: "us\\0ers", name: x, type: int}\n'), /nul\.yaml: operations\[0\]\.add_column\.table: contains a NUL character/],
    ['10,000 malformed operations', files.write('many.yaml', manyMalformed), /many\.yaml: operations: 10,000 operations, more than the 500 a playbook may hold/],
    ['3 kB of binary junk', junkFile(junk), /junk\.yaml: not a text file \(a playbook is UTF-8 YAML or JSON\)$/],
    ['a Python object tag', files.write('python.yaml', `!!python/object:os.system\n${playbook('p_python', '  batchSize: 100\n')}`), /python\.yaml: YAML tag "!!python\/object:os\.system" \(on the value at line 2\) is not allowed/],
    ['a custom tag', files.write('custom.yaml', playbook('p_custom', '  batchSize: !evil 100\n')), /custom\.yaml: YAML tag "!evil" \(on the value at line 3\) is not allowed/],
    ['an oversized playbook', files.write('big.yaml', playbook('p_big', '  batchSize: 100\n') + `description: ${'x'.repeat(1_100_000)}\n`), /big\.yaml: larger than the 1 MB a playbook may have/],
  ];

  it.each(cases)('%s: exit 2 with one line, on plan and on start', async (_name, path, pattern) => {
    const before = await everything();
    const [planned, started] = await Promise.all([runCli(['plan', path], { db: db.url }), runCli(['start', path, '--no-progress'], { db: db.url })]);
    expectOneLine(planned, 2, pattern);
    expectOneLine(started, 2, pattern);
    expect(planned.stdout + started.stdout).toBe('');
    expect(await everything()).toEqual(before);
  });

  it('the same throttle queries given as a flag, on start and on tune', async () => {
    const path = files.write('flag.yaml', playbook('p_flag', '  batchSize: 100\n'));
    const before = await everything();
    const started = await runCli(['start', path, '--no-progress', '--throttle-query', DELETE_ONE], { db: db.url });
    expectOneLine(started, 2, /throttleQuery: it writes/);
    const dropped = await runCli(['start', path, '--no-progress', '--throttle-query', 'SELECT 0; DROP TABLE users'], { db: db.url });
    expectOneLine(dropped, 2, /throttleQuery: it is more than one statement/);
    expect(await everything()).toEqual(before);
  });

  it('junk in a flag is escaped and cut short', async () => {
    const r = await runCli(['start', files.write('flag2.yaml', playbook('p_flag2', '  batchSize: 100\n')), '--replica-url', `\u001b[2J${'z'.repeat(5000)}`], { db: db.url });
    expectOneLine(r, 2, /--replica-url: expected a postgres:\/\/ URL, got "\\x1b\[2Jzzz/);
  });
});

/**
 * The application's own writes to the table, as they would go on while a run
 * stands stopped: whatever the run left installed must let them through.
 */
async function applicationWrites(table: string): Promise<void> {
  await db.query(`UPDATE ${table} SET name = 'renamed' WHERE id = 1`);
  await db.query(`INSERT INTO ${table} (email, name) VALUES ('New@Example.COM', 'new')`);
  await db.query(`DELETE FROM ${table} WHERE email = 'New@Example.COM'`);
  await db.query(`UPDATE ${table} SET name = 'User 1' WHERE id = 1`);
}

/** A table of its own per run, so each run's ranges are its own in a throttle query. */
async function sampleTable(name: string): Promise<void> {
  await db.query(`CREATE TABLE ${name} (LIKE users INCLUDING ALL)`);
  await db.query(`INSERT INTO ${name} SELECT * FROM users`);
}

const alterPlaybook = (name: string, table: string) =>
  files.write(`${name}.yaml`, `name: ${name}\nsettings: {batchSize: 100, maxBatchSize: 100}\noperations:\n  - alter_column: {table: ${table}, column: email, up: lower(email), down: email}\n`);

/** True once the run's backfill has ranges: a query that behaves at `start` and misbehaves in the backfill. */
const inBackfill = (table: string) => `EXISTS (SELECT 1 FROM bellows.ranges WHERE table_name = 'public.${table}' AND task = 'backfill')`;

describe('operator SQL that misbehaves only once the backfill asks it', () => {
  it('a throttleQuery that fails at run time stops the run with one line; the application keeps writing', async () => {
    await sampleTable('t_div');
    const before = await tableDigest(db.pool, 't_div');
    const query = `SELECT 1 / (CASE WHEN ${inBackfill('t_div')} THEN 0 ELSE 1 END) = 0`;
    const r = await runCli(['start', alterPlaybook('p_div', 't_div'), '--no-progress', '--throttle-query', query], { db: db.url });
    expectOneLine(r, 1, /^bellows: run (\d+) stopped: throttleQuery failed: division by zero; correct it with bellows tune \1 --throttle-query '<sql>', then bellows resume \1$/);
    const run = (await db.query(`SELECT id::text AS id, phase, status, error FROM bellows.runs WHERE playbook_name = 'p_div'`)).rows[0];
    expect(run).toMatchObject({ phase: 'backfill', status: 'failed' });
    await applicationWrites('t_div');

    const rolledBack = await runCli(['rollback', run.id], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(await tableDigest(db.pool, 't_div')).toEqual(before);
  });

  it('a throttleQuery that calls a writing function once the backfill runs: the run stops and no row is deleted', async () => {
    await sampleTable('t_evil');
    await db.query(`CREATE FUNCTION evil() RETURNS boolean LANGUAGE sql AS $$ DELETE FROM t_evil WHERE id <= 40; SELECT false $$`);
    const before = await tableDigest(db.pool, 't_evil');
    const query = `SELECT CASE WHEN ${inBackfill('t_evil')} THEN evil() ELSE false END`;
    const r = await runCli(['start', alterPlaybook('p_evil', 't_evil'), '--no-progress', '--throttle-query', query], { db: db.url });
    expectOneLine(r, 1, /throttleQuery failed: it writes \(cannot execute DELETE in a read-only transaction\)/);
    expect((await db.query(`SELECT count(*)::int AS n FROM t_evil`)).rows[0].n).toBe(1000);
    await applicationWrites('t_evil');

    const id = (await db.query(`SELECT id::text AS id FROM bellows.runs WHERE playbook_name = 'p_evil'`)).rows[0].id;
    expect((await runCli(['rollback', id], { db: db.url })).code).toBe(0);
    expect(await tableDigest(db.pool, 't_evil')).toEqual(before);
  });
});

describe('a replica password', () => {
  it('is not stored, comes from the environment on resume, and a resume without it stops with one line', async () => {
    await sampleTable('t_secret');
    const replica = new URL(db.url);
    replica.password = SECRET;
    // Fails once, in the backfill, while the flag row says so; then the test lets it pass.
    await db.query(`CREATE TABLE secret_control (fail boolean NOT NULL)`);
    await db.query(`INSERT INTO secret_control VALUES (true)`);
    const query = `SELECT 1 / (CASE WHEN ${inBackfill('t_secret')} AND (SELECT fail FROM secret_control) THEN 0 ELSE 1 END) = 0`;
    const path = alterPlaybook('p_secret', 't_secret');
    const lag = ['--replica-url', replica.toString(), '--max-replica-lag', '600000'];
    const outputs: CliResult[] = [];

    // The process given the password uses it: the run gets past the replica check to the throttle query.
    const started = await runCli(['start', path, '--no-progress', '--throttle-query', query, ...lag], { db: db.url });
    outputs.push(started);
    expectOneLine(started, 1, /throttleQuery failed: division by zero/);
    const id = (await db.query(`SELECT id::text AS id FROM bellows.runs WHERE playbook_name = 'p_secret'`)).rows[0].id;
    await db.query(`UPDATE secret_control SET fail = false`);

    const stored = await db.query(`SELECT r::text AS row FROM bellows.runs r WHERE id = $1 UNION ALL SELECT e::text FROM bellows.events e WHERE run_id = $1`, [id]);
    expect(stored.rows.map((r) => r.row).join('\n')).not.toContain(SECRET);
    const settings = (await db.query(`SELECT settings FROM bellows.runs WHERE id = $1`, [id])).rows[0].settings;
    expect(settings.replicaUrls).toEqual([replica.toString().replace(SECRET, '***')]);

    const withoutPassword = await runCli(['resume', id, '--no-progress'], { db: db.url });
    outputs.push(withoutPassword);
    expectOneLine(withoutPassword, 1, new RegExp(`^bellows: run ${id} stopped: replica postgres://postgres:\\*\\*\\*@.* needs its password, which bellows does not store; set BELLOWS_REPLICA_PASSWORD`));

    const withPassword = await runCli(['resume', id, '--no-progress'], { db: db.url, env: { BELLOWS_REPLICA_PASSWORD: SECRET } });
    outputs.push(withPassword);
    expect(withPassword.code, show(withPassword)).toBe(0);
    expect(withPassword.stdout).toContain(`run ${id}: verify passed`);

    // A password given to tune is not stored either, nor printed back.
    const tuned = await runCli(['tune', id, ...lag], { db: db.url });
    outputs.push(tuned, await runCli(['status', id, '--json'], { db: db.url }));
    expect(tuned.code, show(tuned)).toBe(0);
    expect(JSON.stringify((await db.query(`SELECT desired FROM bellows.runs WHERE id = $1`, [id])).rows[0])).not.toContain(SECRET);
    for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(SECRET);
    expect((await runCli(['rollback', id], { db: db.url })).code).toBe(0);
  });
});
