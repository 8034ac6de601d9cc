import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, stderrLines } from '../helpers/cli.ts';
import { applyPlaybook } from './apply.ts';

/**
 * `bellows diff <a> <b>`, as a team checks staging against production: which
 * playbooks each applied, in which order, and how their schemas differ; exit 1
 * when anything does, 0 when nothing does. Passwords never shown.
 */

let staging: TestDatabase;
let production: TestDatabase;
let bare: TestDatabase;

/** The same URL with a password: trust authentication ignores it, and it must never be printed. */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = 'hunter2-secret';
  return u.toString();
}

beforeAll(async () => {
  [staging, production, bare] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
  await Promise.all([createSampleTable(staging.pool, 200), createSampleTable(production.pool, 200), createSampleTable(bare.pool, 200)]);
  await applyPlaybook(staging.url, '0004_users_created_at_index.yaml');
  await applyPlaybook(production.url, '0004_users_created_at_index.yaml');
  await applyPlaybook(staging.url, '0002_users_add_plan.yaml');
});

describe('bellows diff', () => {
  it('one database a playbook behind: names the missing playbook and the schema differences (exit 1)', async () => {
    const r = await runCli(['diff', withPassword(staging.url), withPassword(production.url)]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('hunter2-secret');
    expect(r.stdout).toContain(':***@');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('playbooks applied, in order: a: 0004_users_created_at_index, 0002_users_add_plan');
    expect(lines).toContain('  warning  only in a: 0002_users_add_plan');
    expect(lines).toContain('  error    column public.users.plan: removed');
    expect(stderrLines(r)).toEqual(['bellows: diff: the two databases differ: 2 difference(s) at or above info']);

    const json = await runCli(['diff', staging.url, production.url, '--json']);
    expect(json.code, show(json)).toBe(1);
    const d = JSON.parse(json.stdout);
    expect(d.playbooks).toEqual({
      a: ['0004_users_created_at_index', '0002_users_add_plan'],
      b: ['0004_users_created_at_index'],
      onlyInA: ['0002_users_add_plan'],
      onlyInB: [],
      order: null,
      severity: 'warning',
    });
    // add_column leaves a NOT NULL column with a default, and nothing else: the check that proved it is gone.
    expect(d.differences).toEqual([{ kind: 'column', name: 'public.users.plan', severity: 'error', change: 'removed', attributes: expect.objectContaining({ type: 'text', notNull: true, default: "'free'::text" }) }]);
  });

  it('--fail-on: the database behind, compared the other way, only lacks what is added (warnings): exit 0 at error, 1 at warning', async () => {
    const [atError, atWarning] = await Promise.all([
      runCli(['diff', production.url, staging.url, '--fail-on', 'error']),
      runCli(['diff', production.url, staging.url, '--fail-on', 'warning']),
    ]);
    expect(atError.code, show(atError)).toBe(0);
    expect(atError.stdout).toContain('schemas: 1 difference(s) from a to b (1 warning):');
    expect(atError.stdout.split('\n')).toContain('  warning  column public.users.plan: added');
    expect(atWarning.code, show(atWarning)).toBe(1);
    expect(stderrLines(atWarning)).toEqual(['bellows: diff: the two databases differ: 2 difference(s) at or above warning']);
  });

  it('a database without bellows state has applied nothing, and gets no state from being compared', async () => {
    const r = await runCli(['diff', production.url, bare.url, '--json']);
    expect(r.code, show(r)).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(d.playbooks.onlyInA).toEqual(['0004_users_created_at_index']);
    expect(d.playbooks.b).toEqual([]);
    expect(d.differences).toEqual([expect.objectContaining({ kind: 'index', name: 'public.users_created_at_idx', change: 'removed' })]);
    expect((await bare.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'bellows'`)).rowCount).toBe(0);
  });

  it('once both applied the same playbooks in the same order: the same (exit 0)', async () => {
    await applyPlaybook(production.url, '0002_users_add_plan.yaml');
    const r = await runCli(['diff', staging.url, production.url]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('schemas: the same');
    expect(r.stderr).toBe('');
  });

  it('an unreachable database: one line, without its password', async () => {
    const gone = new URL(withPassword(production.url));
    gone.pathname = '/no_such_database_here';
    const r = await runCli(['diff', staging.url, gone.toString()]);
    expect(r.code, show(r)).toBe(1);
    expect(stderrLines(r)).toEqual([expect.stringMatching(/^bellows: cannot connect to .*:\*\*\*@.*no_such_database_here/)]);
    expect(r.stderr).not.toContain('hunter2-secret');
  });
});
