import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, inParallel, runCli, scratchDir, spawnCli, startedRunId, statusJson, stderrLines, waitFor } from '../helpers/cli.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { startServe } from '../helpers/serve.ts';

/**
 * How `bellows serve` starts and stops: its flags (one line and exit 2 for bad
 * ones, exit 1 for a target it cannot reach, never a password), read-only
 * without BELLOWS_TOKEN, the page's files, and a shutdown that stops the runs
 * it drives at a checkpoint for `bellows resume` to continue.
 */

const ROWS = 3000;
const SECRET = 'Sup3rS3cretPw';
let db: TestDatabase;
let hold: BackfillHold;
let runId: string;

/** A run of `accounts` its process left mid-backfill: stalled, held by the test, nobody driving it. */
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'accounts', ROWS);
  hold = await backfillHold(db, 'public.accounts', 300);
  const file = scratchDir().write('0001_accounts.json', JSON.stringify({
    name: '0001_accounts',
    settings: { batchSize: 100, minBatchSize: 100, maxBatchSize: 100, throttleQuery: hold.query },
    operations: [vToBigint('accounts')],
  }));
  const started = spawnCli(['start', file, '--no-progress'], { db: db.url });
  runId = await startedRunId(started);
  await hold.held(runId);
  started.kill('SIGINT');
  expect((await started.exited).code).toBe(1);
});

async function rowsDone(): Promise<number> {
  const { rows } = await db.query(`SELECT coalesce(sum(rows_done), 0)::int AS n FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
  return rows[0].n;
}

/** A GET with the path exactly as given. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject).end();
  });
}

async function eventCount(): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM bellows.events WHERE run_id = $1`, [runId])).rows[0].n;
}

describe('bellows serve flags', () => {
  it('bad flags: one line naming the problem, exit 2; a target it cannot reach: exit 1; never a password', async () => {
    const refused = `postgres://bellows:${SECRET}@127.0.0.1:1/app`;
    const files = scratchDir();
    const cases: Array<[string[], 1 | 2, RegExp]> = [
      [['--listen', 'localhost'], 2, /--listen: expected host:port/],
      [['--listen', '127.0.0.1:70000'], 2, /--listen: expected host:port/],
      [['--listen', '203.0.113.9:7070', '--target', `a=${db.url}`], 2, /--listen 203\.0\.113\.9:7070: no such address/],
      [['--target', 'a'], 2, /--target: expected name=url/],
      [['--target', 'a b=postgres://h/x'], 2, /target name "a b" must be/],
      [['--target', `a=mysql://u:${SECRET}@h/x`], 2, /expected a postgres:\/\/ URL/],
      [['--target', 'a=env:BELLOWS_TEST_NO_SUCH_VAR'], 2, /environment variable BELLOWS_TEST_NO_SUCH_VAR is not set/],
      [['--target', `a=${db.url}`, '--target', `a=${db.url}`], 2, /target "a" is named twice/],
      [['--config', `${files.dir}/missing.yaml`], 2, /--config .*missing\.yaml: cannot read \(no such file\)/],
      [['--config', files.write('bad.yaml', 'targets: [ {name: a\n')], 2, /--config .*bad\.yaml: not valid YAML/],
      [['--config', files.write('shape.json', JSON.stringify({ targets: [{ name: 'a', url: refused, pool: 3 }] }))], 2, /targets\[0\]: Unrecognized key: "pool"/],
      [['--config', files.write('secret.json', `{"targets": [{"name": "a", "url": "${refused}"`)], 2, /--config .*secret\.json: not valid JSON/],
      [['--target', `a=${db.url}`, '--target', `b=${refused}`], 1, /target b: cannot connect to postgres:\/\/bellows:\*\*\*@127\.0\.0\.1:1\/app/],
      [[], 2, /serve: no target: pass --target/],
    ];
    const results = await inParallel(cases, 3, ([args]) => runCli(['serve', '--listen', '127.0.0.1:0', ...args]));
    for (const [i, r] of results.entries()) {
      // It exited by itself: nothing was left listening or connected.
      expect(r.signal, show(r)).toBeNull();
      expect(r.code, show(r)).toBe(cases[i][1]);
      expect(stderrLines(r), show(r)).toEqual([expect.stringMatching(/^bellows: /)]);
      expect(stderrLines(r)[0]).toMatch(cases[i][2]);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout).not.toContain('listening');
    }
  });

  it('targets from a config file with env:VAR, or the global database URL as "default"', async () => {
    const config = scratchDir().write('targets.yaml', 'targets:\n  - name: accounts-db\n    url: env:ACCOUNTS_DATABASE_URL\n');
    const fromFile = await startServe(['--config', config], { env: { ACCOUNTS_DATABASE_URL: db.url } });
    const fromUrl = await startServe([], { db: db.url });
    try {
      expect((await fromFile.call('/api/session')).json()).toEqual({ writable: false, targets: ['accounts-db'] });
      expect((await fromUrl.call('/api/session')).json()).toEqual({ writable: false, targets: ['default'] });
      const run = (await fromFile.call(`/api/targets/accounts-db/runs/${runId}`)).json();
      expect(run).toMatchObject({ id: runId, playbook: '0001_accounts', state: 'stalled' });
    } finally {
      expect((await fromFile.stop()).code).toBe(0);
      expect((await fromUrl.stop()).code).toBe(0);
    }
  });
});

describe('read-only without BELLOWS_TOKEN', () => {
  it('says so, refuses every write with 403, and changes nothing', async () => {
    const serve = await startServe(['--target', `app=${db.url}`]);
    try {
      expect(serve.proc.stdout()).toContain('read-only (no BELLOWS_TOKEN)');
      expect((await serve.call('/api/session')).json()).toEqual({ writable: false, targets: ['app'] });
      const before = { run: (await db.query(`SELECT desired, status FROM bellows.runs WHERE id = $1`, [runId])).rows[0], events: await eventCount() };
      for (const action of ['pause', 'resume', 'approve', 'rollback', 'tune']) {
        const answer = await serve.call(`/api/targets/app/runs/${runId}/${action}`, { method: 'POST', token: 'any-token', body: action === 'tune' ? { maxRowsPerSec: 5 } : undefined });
        expect(answer.status, `${action}: ${answer.text}`).toBe(403);
        expect(answer.json().error).toBe('this server is read-only: it was started without BELLOWS_TOKEN');
      }
      expect((await db.query(`SELECT desired, status FROM bellows.runs WHERE id = $1`, [runId])).rows[0]).toEqual(before.run);
      expect(await eventCount()).toBe(before.events);
      // Reads need no token.
      expect((await serve.call(`/api/targets/app/runs/${runId}`)).status).toBe(200);
    } finally {
      await serve.stop();
    }
  });

  it('serves the page’s files at / with their content types, and 404 for what is not there', async () => {
    const serve = await startServe(['--target', `app=${db.url}`]);
    try {
      const page = await serve.call('/');
      expect(page.status).toBe(200);
      expect(page.contentType).toBe('text/html; charset=utf-8');
      expect(page.text).toMatch(/<html|<!doctype html/i);
      expect((await serve.call('/index.html')).text).toBe(page.text);
      expect((await serve.call('/no-such-file.js')).status).toBe(404);
      // As a client that does not tidy its paths would send them (fetch would): nothing outside the page's folder.
      for (const path of ['/../../../package.json', '/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/%2e%2e/package.json']) {
        const answer = await rawGet(serve.url, path);
        expect(answer.status, path).toBe(404);
        expect(answer.body, path).not.toContain('"name": "bellows"');
      }
    } finally {
      await serve.stop();
    }
  });
});

describe('shutdown', () => {
  it('SIGTERM stops a run the server drives at a checkpoint; bellows resume continues it', async () => {
    const serve = await startServe(['--target', `app=${db.url}`], { token: 'tok' });
    expect(await statusJson(db.url, runId)).toMatchObject({ state: 'stalled', driver: 'none' });
    const resumed = await serve.call(`/api/targets/app/runs/${runId}/resume`, { method: 'POST', token: 'tok' });
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.json().message).toBe(`resuming run ${runId} from its last checkpoint (phase backfill)`);
    // The server drives it now (held still, by the test), and the answer did not wait for that drive.
    await waitFor('the server to drive the run', async () => (await statusJson(db.url, runId)).driver === 'active');
    expect(serve.proc.stdout()).toContain(`target app: driving run ${runId} here (phase backfill)`);
    await hold.holdAt(600);
    await hold.held(runId);

    const stopped = await serve.stop('SIGTERM');
    expect(stopped.code, show(stopped)).toBe(0);
    expect(stopped.stdout).toContain(`target app: run ${runId} stopped at a checkpoint; continue with: bellows resume ${runId}`);
    expect(stopped.stdout).toContain('bellows serve stopped');
    // Nothing drives it now: the server let go of its lock, and nothing moves.
    expect(await statusJson(db.url, runId)).toMatchObject({ status: 'running', state: 'stalled', driver: 'none' });
    const atStop = await rowsDone();
    await hold.release();
    expect(await rowsDone()).toBe(atStop);

    const resume = await runCli(['resume', runId, '--no-progress'], { db: db.url });
    expect(resume.code, show(resume)).toBe(0);
    expect(resume.stdout).toContain(`resuming run ${runId} from its last checkpoint (phase backfill)`);
    expect(await rowsDone()).toBe(ROWS);
    expect(await statusJson(db.url, runId)).toMatchObject({ phase: 'gate', status: 'awaiting_approval' });
  });
});
