import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atFileEnd } from '../helpers/cleanup.ts';
import { freshDatabase } from '../helpers/db.ts';
import { describe as show, runCli, spawnCli, stderrLines, waitFor } from '../helpers/cli.ts';

/**
 * `bellows demo`: its own embedded PostgreSQL, a migration under live writes,
 * and nothing left behind: no server, no data directory, whatever happens.
 */

/** A TMPDIR of the demo's own, to see what it leaves behind (world-writable: initdb runs as postgres). */
function demoTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellows-demo-'));
  chmodSync(dir, 0o1777);
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('bellows-pg-'));

describe('bellows demo', () => {
  it('migrates under live writes with zero failed writes, verifies, ignores DATABASE_URL, leaves nothing behind', async () => {
    const db = await freshDatabase();
    const tmp = demoTmp();
    const r = await runCli(['demo', '--rows', '5000', '--writers', '2', '--no-progress'], { db: db.url, env: { TMPDIR: tmp } });
    expect(r.code, show(r)).toBe(0);
    const writes = /application writes during the migration: ([\d,]+) ok, (\d+) failed/.exec(r.stdout);
    expect(writes, show(r)).not.toBeNull();
    expect(Number(writes![1].replace(/,/g, ''))).toBeGreaterThan(0);
    expect(writes![2]).toBe('0');
    const verified = /verify: passed, ([\d,]+) rows checked; users\.email is now citext/.exec(r.stdout);
    expect(verified, show(r)).not.toBeNull();
    expect(Number(verified![1].replace(/,/g, ''))).toBeGreaterThanOrEqual(5000);
    expect(r.stdout).toContain('demo passed: zero failed writes, every row verified');
    expect(r.stderr).toBe('');
    // DATABASE_URL pointed here, and the demo did not touch it.
    const touched = await db.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'bellows' UNION ALL SELECT count(*)::int FROM pg_class WHERE relname = 'users'`);
    expect(touched.rows).toEqual([{ n: 0 }, { n: 0 }]);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('Ctrl-C mid-migration stops in order: exit 1, one line, server and data directory gone', async () => {
    const tmp = demoTmp();
    const demo = spawnCli(['demo', '--rows', '300000', '--writers', '2', '--no-progress'], { env: { TMPDIR: tmp } });
    await waitFor('the migration to start', async () => demo.stdout().includes('playbook 0001_users_email_citext'), 90_000);
    demo.kill('SIGINT');
    const r = await demo.exited;
    expect(r.code, show(r)).toBe(1);
    expect(stderrLines(r), show(r)).toEqual(['bellows: demo interrupted; its embedded PostgreSQL is stopped and its data removed']);
    expect(leftovers(tmp)).toEqual([]);
  });
});
