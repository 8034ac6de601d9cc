import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { catalogSnapshot, describe as show, inParallel, playbookPath, runCli, scratchDir, stderrLines, type CliResult } from '../helpers/cli.ts';

/**
 * The CLI's contract with a user at the terminal: exit codes (0 ok, 1 failure,
 * 2 bad input), one `bellows: …` line on stderr for a user error, never a stack
 * trace, never a password, and bad input never touches the database.
 */

const COMMANDS = ['start', 'status', 'watch', 'pause', 'resume', 'tune', 'approve', 'rollback', 'plan', 'lint', 'events', 'history', 'schema', 'demo', 'serve', 'drift', 'diff'];
const PLAYBOOKS = ['0001_users_email_citext', '0002_users_add_plan', '0003_users_rename_name', '0004_users_created_at_index'];
const SECRET = 'Sup3rS3cretPw';

/** A user error: the expected exit code, exactly one line on stderr, and no trace of a stack. */
function expectUserError(r: CliResult, code: 1 | 2, pattern: RegExp) {
  const lines = stderrLines(r);
  expect(r.code, show(r)).toBe(code);
  expect(lines, show(r)).toHaveLength(1);
  expect(lines[0], show(r)).toMatch(/^bellows: /);
  expect(lines[0], show(r)).toMatch(pattern);
  expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
}

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 200);
});

describe('usage', () => {
  it('--help on the program and on every command exits 0 and describes it', async () => {
    const results = await inParallel([[], ...COMMANDS.map((c) => [c])], 3, (cmd) => runCli([...cmd, '--help']));
    for (const [i, r] of results.entries()) {
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout, show(r)).toMatch(i === 0 ? /Commands:[\s\S]*start[\s\S]*rollback/ : new RegExp(`Usage: bellows ${COMMANDS[i - 1]}`));
      expect(r.stderr, show(r)).toBe('');
    }
  });

  it('unknown commands, unknown options, missing and malformed arguments exit 2 with one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['status', '--frobnicate'], /unknown option '--frobnicate'/],
      [['start'], /missing required argument 'playbook'/],
      [['pause'], /missing required argument 'run'/],
      [['tune', '1'], /give at least one setting/],
      [['plan'], /plan: give a playbook file, or --run <run>/],
      [['plan', playbookPath('0001_users_email_citext.yaml'), '--run', '1'], /plan: give a playbook file or --run <run>, not both/],
      [['events'], /missing required argument 'run'/],
      [['tune', '1', '--parallelism', 'lots'], /--parallelism: expected a whole number/],
      [['start', playbookPath('0001_users_email_citext.yaml'), '--batch-size', '0'], /--batch-size: expected a whole number of at least 1/],
      [['start', playbookPath('0001_users_email_citext.yaml'), '--max-rows-per-sec', '-5'], /--max-rows-per-sec/],
      [['demo', '--rows', '0'], /--rows/],
      [['demo', '--writers', 'many'], /--writers/],
      [['diff', 'postgres://a@h/x'], /missing required argument 'url-b'/],
      [['diff', 'not a url', 'postgres://a@h/x'], /database URL is not a valid URL: not a url/],
    ];
    const results = await inParallel(cases, 3, ([args]) => runCli(args, { db: db.url }));
    for (const [i, r] of results.entries()) expectUserError(r, 2, cases[i][1]);
  });

  it('no database configured: exit 2, and it says how to give one', async () => {
    const [status, start] = await Promise.all([
      runCli(['status']),
      runCli(['start', playbookPath('0001_users_email_citext.yaml')]),
    ]);
    expectUserError(status, 2, /no database: pass --database-url or set DATABASE_URL/);
    expectUserError(start, 2, /no database/);
  });

  it('an unreachable database: exit 1, and the password never appears', async () => {
    const refused = `postgres://bellows:${SECRET}@127.0.0.1:1/app`;
    const noSuchDb = new URL(db.url);
    noSuchDb.username = 'postgres';
    noSuchDb.password = SECRET;
    noSuchDb.pathname = '/bellows_no_such_database';
    const results = await Promise.all([
      runCli(['status'], { db: refused }),
      runCli(['--database-url', refused, 'start', playbookPath('0002_users_add_plan.yaml')]),
      runCli(['history'], { db: noSuchDb.toString() }),
    ]);
    for (const r of results) {
      expectUserError(r, 1, /cannot connect to postgres:\/\/\w+:\*\*\*@/);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    // A URL that is not even a URL is bad input, and is still redacted.
    const malformed = await runCli(['status'], { db: `postgres://bellows:${SECRET}@127.0.0.1:notaport/app` });
    expectUserError(malformed, 2, /not a valid URL/);
    expect(malformed.stdout + malformed.stderr).not.toContain(SECRET);
  });
});

describe('plan', () => {
  it('prints every phase with a lock per statement and changes nothing, not even the state schema', async () => {
    const before = await catalogSnapshot(db.pool);
    const results = await inParallel(PLAYBOOKS, 2, (p) => runCli(['plan', playbookPath(`${p}.yaml`)], { db: db.url }));
    for (const [i, r] of results.entries()) {
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain(`-- plan of ${PLAYBOOKS[i]}`);
      const phases = [...r.stdout.matchAll(/^-- == (.+) ==$/gm)].map((m) => m[1].split(' ')[0]);
      expect(phases).toEqual(['expand', 'dual-write', 'backfill', 'verify', 'contract', 'rollback']);
      // Every statement is announced by a comment naming the lock it takes.
      const lines = r.stdout.split('\n');
      let statements = 0;
      for (const [n, line] of lines.entries()) {
        if (/^(ALTER|CREATE|DROP|UPDATE|SELECT|INSERT)\b/.test(line)) {
          statements++;
          expect(lines[n - 1], `statement without its lock: ${line}`).toMatch(/^-- .+; lock: \S/);
        }
      }
      expect(statements).toBeGreaterThan(0);
    }
    expect(results[0].stdout).toMatch(/ALTER TABLE "public"\."users" ADD COLUMN[^\n]*citext/);
    expect(results[3].stdout).toMatch(/CREATE INDEX CONCURRENTLY[^\n]*"users_created_at_idx"/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(before.schemas).not.toContainEqual({ nspname: 'bellows' });
  });

  it('--json parses, with the lock of every statement', async () => {
    const r = await runCli(['plan', playbookPath('0001_users_email_citext.yaml'), '--json'], { db: db.url });
    expect(r.code, show(r)).toBe(0);
    const plan = JSON.parse(r.stdout) as { playbook: string; phases: Array<{ phase: string; statements: Array<{ sql: string; lock: string; note: string }> }> };
    expect(plan.playbook).toBe('0001_users_email_citext');
    expect(plan.phases.map((p) => p.phase.split(' ')[0])).toEqual(['expand', 'dual-write', 'backfill', 'verify', 'contract', 'rollback']);
    for (const s of plan.phases.flatMap((p) => p.statements)) {
      expect(s.sql).not.toBe('');
      expect(s.lock).not.toBe('');
    }
    expect(plan.phases[0].statements.length).toBeGreaterThan(0);
  });
});

describe('bad playbooks', () => {
  const files = scratchDir();
  const alter = (fields: string) =>
    `name: 0100_bad\noperations:\n  - alter_column:\n      table: users\n      column: email\n${fields}`;
  const cases: Array<[string, string, RegExp]> = [
    ['bad YAML', files.write('bad-yaml.yaml', 'name: 0100_bad\noperations: [\n  - {alter_column: \n'), /bad-yaml\.yaml: not valid YAML/],
    ['bad JSON', files.write('bad.json', '{"name": "0100_bad", "operations": ['), /bad\.json: not valid JSON/],
    ['no such file', `${files.dir}/nope.yaml`, /nope\.yaml: cannot read playbook \(no such file\)/],
    ['not a mapping', files.write('list.yaml', '- 1\n- 2\n'), /a playbook is a mapping/],
    ['missing field', files.write('missing.yaml', alter('      type: citext\n      down: email::text\n')), /operations\[0\]\.alter_column\.up: give up and down together/],
    ['wrong field type', files.write('wrongtype.yaml', `settings:\n  batchTimeMs: fast\n${alter('      type: citext\n      up: lower(email)\n      down: email::text\n')}`), /settings\.batchTimeMs: /],
    ['unknown table', files.write('table.yaml', alter('      type: citext\n      up: lower(email)\n      down: email::text\n').replace('table: users', 'table: nosuch')), /operations\[0\]\.alter_column\.table: .*nosuch.* does not exist/],
    ['unknown column', files.write('column.yaml', alter('      type: citext\n      up: lower(email)\n      down: email::text\n').replace('column: email', 'column: nosuch')), /operations\[0\]\.alter_column\.column: column "nosuch" does not exist/],
    ['unknown type', files.write('type.yaml', alter('      type: notatype\n      up: lower(email)\n      down: email::text\n')), /operations\[0\]\.alter_column\.type: type "notatype" does not exist/],
    ['invalid SQL expression', files.write('expr.yaml', alter('      type: citext\n      up: lower(email\n      down: email::text\n')), /operations\[0\]\.alter_column\.up: invalid expression/],
    ['expression on a missing column', files.write('expr-col.yaml', alter('      type: citext\n      up: lower(nosuch)\n      down: email::text\n')), /operations\[0\]\.alter_column\.up: invalid expression/],
    ['a second statement smuggled into an expression', files.write('smuggle.yaml', alter('      type: citext\n      up: "lower(email)); DROP TABLE users; --"\n      down: email::text\n')), /operations\[0\]\.alter_column\.up: invalid expression/],
    ['a default of the wrong type', files.write('default.yaml', 'name: 0100_bad\noperations:\n  - add_column:\n      table: users\n      name: score\n      type: integer\n      default: "\'high\'"\n'), /operations\[0\]\.add_column\.default: invalid expression/],
  ];

  it('each kind exits 2 with one line naming the problem, no stack trace, no DDL and no run', async () => {
    // The state schema exists, as it would on a database bellows has been used on before.
    const history = await runCli(['history'], { db: db.url });
    expect(history.code, show(history)).toBe(0);
    const before = await catalogSnapshot(db.pool);
    const results = await inParallel(cases, 3, ([, path]) => runCli(['start', path, '--no-progress'], { db: db.url }));
    for (const [i, r] of results.entries()) {
      expectUserError(r, 2, cases[i][2]);
      expect(r.stdout, `${cases[i][0]}\n${show(r)}`).toBe('');
    }
    // plan rejects them the same way
    const planned = await runCli(['plan', cases[4][1]], { db: db.url });
    expectUserError(planned, 2, cases[4][2]);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect((await db.query('SELECT count(*)::int AS n FROM bellows.runs')).rows[0].n).toBe(0);
    expect((await db.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(200);
  });
});

describe('status and run references', () => {
  it('with no runs: says so, and --json is an empty list; an unknown run is bad input', async () => {
    const [human, json, missing, byName, noEvents, noPlan] = await Promise.all([
      runCli(['status'], { db: db.url }),
      runCli(['status', '--json'], { db: db.url }),
      runCli(['status', '99'], { db: db.url }),
      runCli(['approve', '0042_no_such_playbook'], { db: db.url }),
      runCli(['events', '99'], { db: db.url }),
      runCli(['plan', '--run', '99'], { db: db.url }),
    ]);
    expect(human.code, show(human)).toBe(0);
    expect(human.stdout).toContain('no runs yet');
    expect(json.code, show(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    expectUserError(missing, 2, /no run 99/);
    expectUserError(byName, 2, /no run of playbook 0042_no_such_playbook/);
    expectUserError(noEvents, 2, /no run 99/);
    expectUserError(noPlan, 2, /no run 99/);
  });
});
