import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { describe as show, playbookPath, runCli, scratchDir, spawnCli, startedRunId, stderrLines, waitFor, type CliProcess } from '../helpers/cli.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { startServe, streamedRuns, type ServeProcess } from '../helpers/serve.ts';
import { parsePrometheus, valueOf } from '../helpers/prometheus.ts';

/**
 * `bellows serve` against real PostgreSQL during a live backfill: its JSON API
 * answers what the CLI's --json prints, its actions change the state store
 * exactly as the CLI's do (and are refused as the CLI refuses them), in the name
 * of `web <address>`, and no password of a target ever shows.
 */

const ROWS = 20_000;
const BATCH = 100;
const TOKEN = 'test-token-9f2c';
let db: TestDatabase;
let other: TestDatabase;
let hold: BackfillHold;
let driver: CliProcess;
let runId: string;
let otherRunId: string;
let serve: ServeProcess;
/** The password in the URLs the server is given. */
let secret: string;

/**
 * The URL an operator would give, with a password: the server's own where it has
 * one (an embedded PostgreSQL), else one that trust authentication ignores.
 */
function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = 's3cret';
  secret = decodeURIComponent(u.password);
  return u.toString();
}

/** Figures that move between two reads even of a held run: the rate window slides, and with it the ETA. */
function settled(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(settled);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !['rowsPerSec', 'etaSeconds', 'updatedAt'].includes(k))
        .map(([k, v]) => [k, settled(v)]),
    );
  }
  return value;
}

async function cliJson(database: TestDatabase, args: string[]) {
  const result = await runCli([...args, '--json'], { db: database.url });
  expect(result.code, show(result)).toBe(0);
  return JSON.parse(result.stdout);
}

async function runRow(id: string) {
  const { rows } = await db.query(`SELECT phase, status, desired FROM bellows.runs WHERE id = $1`, [id]);
  return rows[0];
}

async function lastEvent(id: string, kind: string) {
  const { rows } = await db.query(`SELECT actor, detail FROM bellows.events WHERE run_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1`, [id, kind]);
  return rows[0];
}

async function eventCount(id: string): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM bellows.events WHERE run_id = $1`, [id])).rows[0].n;
}

async function backfilled(id: string): Promise<number> {
  const { rows } = await db.query(`SELECT coalesce(sum(rows_done), 0)::int AS n FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [id]);
  return rows[0].n;
}

beforeAll(async () => {
  [db, other] = await Promise.all([freshDatabase(), freshDatabase()]);
  await createSampleTable(db.pool, ROWS);
  await numberedTable(db, 'accounts', 4000);
  await numberedTable(other, 'items', 500);
  hold = await backfillHold(db, 'public.users', 3 * BATCH);
  // The run on the second target goes to its gate and waits there; the first is held mid-backfill.
  const items = scratchDir().write('0001_items.json', JSON.stringify({ name: '0001_items', operations: [vToBigint('items')] }));
  const [gated] = await Promise.all([
    runCli(['start', items, '--no-progress'], { db: other.url }),
    (async () => {
      driver = spawnCli(
        [
          'start', playbookPath('0001_users_email_citext.yaml'), '--no-progress',
          '--batch-size', String(BATCH), '--min-batch-size', String(BATCH), '--max-batch-size', String(BATCH), '--max-rows-per-sec', '1000',
          '--throttle-query', hold.query,
          // Stored without its password: the API must show it as status does.
          '--replica-url', withPassword(db.url),
        ],
        { db: db.url },
      );
      runId = await startedRunId(driver);
      await hold.held(runId);
    })(),
  ]);
  expect(gated.code, show(gated)).toBe(0);
  otherRunId = /run (\d+) started/.exec(gated.stdout)![1];
  serve = await startServe(['--target', `app=${withPassword(db.url)}`, '--target', `other=${withPassword(other.url)}`], { token: TOKEN });
});

afterAll(async () => {
  await serve?.stop();
});

describe('bellows serve during a live backfill', () => {
  it('reads: every answer is what the CLI prints with --json', async () => {
    expect((await serve.call('/api/session')).json()).toEqual({ writable: true, targets: ['app', 'other'] });

    // Both targets at once, each run exactly as `status --json` shows it.
    const runs = (await serve.call('/api/runs')).json() as Array<{ target: string; id: string }>;
    const [cliApp, cliOther] = await Promise.all([cliJson(db, ['status']), cliJson(other, ['status'])]);
    const ofTarget = (name: string) => runs.filter((r) => r.target === name).map(({ target: _, ...run }) => run);
    expect(settled(ofTarget('app'))).toEqual(settled(cliApp));
    expect(settled(ofTarget('other'))).toEqual(settled(cliOther));
    expect(ofTarget('app').map((r) => r.id)).toContain(runId);
    expect(ofTarget('other')).toMatchObject([{ id: otherRunId, status: 'awaiting_approval' }]);

    const run = (await serve.call(`/api/targets/app/runs/${runId}`)).json();
    expect(settled(run)).toEqual(settled(await cliJson(db, ['status', runId])));
    expect(run).toMatchObject({ phase: 'backfill', status: 'running', driver: 'active' });
    expect(run.tasks[0].rowsDone).toBeGreaterThan(0);
    expect(run.tasks[0].rowsDone).toBeLessThan(ROWS);
    expect(run.settings.replicaUrls).toEqual([expect.stringContaining(':***@')]);
    // A run named by its playbook is its latest run, as in the CLI.
    expect(settled((await serve.call('/api/targets/app/runs/0001_users_email_citext')).json())).toEqual(settled(run));

    // The event log may only grow between two reads: the API's is the start of the CLI's.
    const events = (await serve.call(`/api/targets/app/runs/${runId}/events`)).json() as unknown[];
    const cliEvents = await cliJson(db, ['events', runId]);
    expect(events.length).toBeGreaterThan(3);
    expect(cliEvents.slice(0, events.length)).toEqual(events);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'run_created', runId }));

    const plan = (await serve.call(`/api/targets/app/runs/${runId}/plan`)).json();
    expect(plan).toEqual(await cliJson(db, ['plan', '--run', runId]));
    expect(plan.phases.map((p: { phase: string }) => p.phase.split(' ')[0])).toEqual(['expand', 'dual-write', 'backfill', 'verify', 'contract', 'rollback']);
    expect(plan.phases[0].statements[0]).toMatchObject({ sql: expect.stringContaining('ALTER TABLE'), lock: expect.any(String) });
    const planText = await runCli(['plan', '--run', runId], { db: db.url });
    expect(planText.stdout).toContain(`-- plan of run ${runId} of 0001_users_email_citext`);
    expect(planText.stdout).toContain(`${plan.phases[0].statements[0].sql};`);

    const missing = await Promise.all([
      serve.call('/api/targets/nope/runs/1'),
      serve.call('/api/targets/app/runs/999'),
      serve.call('/api/targets/app/runs/999/events'),
      serve.call('/api/nope'),
    ]);
    expect(missing.map((a) => a.status)).toEqual([404, 404, 404, 404]);
    expect(missing[0].json().error).toContain('no target "nope"');
    expect(missing[1].json().error).toBe('no run 999 (see bellows status)');
  });

  it('the stream sends runs at once and again as rows rise; the rate history fills', async () => {
    const rowsOf = (answer: Array<{ target: string; id: string; tasks: Array<{ rowsDone: number }> }>) =>
      answer.find((r) => r.target === 'app' && r.id === runId)!.tasks[0].rowsDone;
    const before = await backfilled(runId);
    const until = before + 3000;
    // Once the stream has sent its first answer, the backfill goes on at its 1000 rows/s for a few seconds.
    let moved: Promise<void> | null = null;
    const { events, contentType } = await streamedRuns(serve.url, (seen) => {
      moved ??= hold.holdAt(until);
      const rows = seen.map(rowsOf);
      return new Set(rows).size >= 3 || rows.at(-1)! >= until;
    });
    await moved;
    expect(contentType).toMatch(/^text\/event-stream/);
    const rows = events.map(rowsOf);
    expect(rows[0]).toBe(before);
    expect(new Set(rows).size, `rows seen: ${rows.join(', ')}`).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < rows.length; i++) expect(rows[i]).toBeGreaterThanOrEqual(rows[i - 1]);
    expect(rows.at(-1)).toBeGreaterThan(before);

    const rates = await waitFor('a sample of the moving rate', async () => {
      const samples = (await serve.call(`/api/targets/app/runs/${runId}/rates`)).json() as Array<{ at: string; rowsPerSec: number }>;
      return samples.some((s) => s.rowsPerSec > 0) && samples;
    });
    for (const s of rates) expect(Date.parse(s.at)).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect(rates.map((s) => s.at)).toEqual([...rates.map((s) => s.at)].sort());
    await hold.held(runId);
  });

  it('/metrics: every target in Prometheus format, figures as the state store has them', async () => {
    const answer = await serve.call('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(answer.text);
    expect(valueOf(samples, 'bellows_target_up', { target: 'app' })).toBe(1);
    expect(valueOf(samples, 'bellows_target_up', { target: 'other' })).toBe(1);
    expect(valueOf(samples, 'bellows_run_phase', { target: 'app', run: runId, phase: 'backfill' })).toBe(1);
    expect(valueOf(samples, 'bellows_run_phase', { target: 'other', run: otherRunId, phase: 'gate' })).toBe(1);
    // The run is held, so the store and the scrape see the same rows.
    expect(valueOf(samples, 'bellows_rows_done', { target: 'app', run: runId, task: 'backfill', table: 'public.users' })).toBe(await backfilled(runId));
    expect(valueOf(samples, 'bellows_batch_duration_seconds_count', { target: 'app', run: runId })).toBeGreaterThan(0);
  });

  it('writes without the token are refused and change nothing', async () => {
    const row = await runRow(runId);
    const events = await eventCount(runId);
    const refused = await Promise.all([
      serve.call(`/api/targets/app/runs/${runId}/pause`, { method: 'POST' }),
      serve.call(`/api/targets/app/runs/${runId}/pause`, { method: 'POST', token: 'wrong-token' }),
      serve.call(`/api/targets/app/runs/${runId}/rollback`, { method: 'POST', authorization: TOKEN }),
      serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', body: { maxRowsPerSec: 1 } }),
    ]);
    expect(refused.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    for (const a of refused) expect(a.json().error).toMatch(/bearer token/);
    expect(await runRow(runId)).toEqual(row);
    expect(await eventCount(runId)).toBe(events);
  });

  it('what the CLI refuses, the API refuses with the same message: 409 or 400', async () => {
    const early = await serve.call(`/api/targets/app/runs/${runId}/approve`, { method: 'POST', token: TOKEN });
    expect(early.status).toBe(409);
    const cli = await runCli(['approve', runId], { db: db.url });
    expect(cli.code, show(cli)).toBe(1);
    expect(stderrLines(cli)).toEqual([`bellows: ${early.json().error}`]);
    expect(early.json().error).toBe(`run ${runId} is in phase backfill; approve is accepted once verify has passed and the run waits at the gate`);

    const tooMany = await serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', token: TOKEN, body: { parallelism: 500 } });
    expect(tooMany.status).toBe(400);
    const cliTooMany = await runCli(['tune', runId, '--parallelism', '500'], { db: db.url });
    expect(stderrLines(cliTooMany)).toEqual([`bellows: ${tooMany.json().error}`]);

    const bad = await Promise.all([
      serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', token: TOKEN, body: { throttleQuery: 'SELECT true' } }),
      serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', token: TOKEN, body: '{not json' }),
      serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', token: TOKEN, body: {} }),
    ]);
    expect(bad.map((a) => a.status)).toEqual([400, 400, 400]);
    expect(bad[0].json().error).toContain('"throttleQuery" cannot be tuned from the API');
    expect(bad[2].json().error).toContain('give at least one setting');
  });

  it('pause, resume and tune through the API change the state store in the name of web <address>', async () => {
    const paused = await serve.call(`/api/targets/app/runs/${runId}/pause`, { method: 'POST', token: TOKEN });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.json().message).toBe(`pause requested for run ${runId}; it stops within one batch (bellows resume ${runId} to continue)`);
    expect(paused.json().run).toMatchObject({ id: runId, paused: true });
    expect((await runRow(runId)).desired).toMatchObject({ paused: true });
    expect(await lastEvent(runId, 'pause')).toMatchObject({ actor: 'web 127.0.0.1' });
    await waitFor('the driver to pause the run', async () => (await runRow(runId)).status === 'paused');

    const resumed = await serve.call(`/api/targets/app/runs/${runId}/resume`, { method: 'POST', token: TOKEN });
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.json().message).toBe(`run ${runId} resumed; its driving process continues within one batch`);
    expect((await runRow(runId)).desired).toMatchObject({ paused: false });
    expect(await lastEvent(runId, 'resume')).toMatchObject({ actor: 'web 127.0.0.1' });
    await waitFor('the run to be running again', async () => (await runRow(runId)).status === 'running');

    const tuned = await serve.call(`/api/targets/app/runs/${runId}/tune`, { method: 'POST', token: TOKEN, body: { maxRowsPerSec: 0, batchTimeMs: 300 } });
    expect(tuned.status, tuned.text).toBe(200);
    expect(tuned.json().message).toBe(`run ${runId} tuned: maxRowsPerSec=0, batchTimeMs=300`);
    expect(tuned.json().run.settings).toMatchObject({ maxRowsPerSec: 0, batchTimeMs: 300 });
    expect((await runRow(runId)).desired.tuning).toMatchObject({ maxRowsPerSec: 0, batchTimeMs: 300 });
    expect(await lastEvent(runId, 'tune')).toMatchObject({ actor: 'web 127.0.0.1', detail: { tuning: { maxRowsPerSec: 0, batchTimeMs: 300 } } });
    // `bellows events` shows who did it, as the API does.
    const events = await cliJson(db, ['events', runId]);
    expect(events.filter((e: { actor: string }) => e.actor === 'web 127.0.0.1').map((e: { kind: string }) => e.kind)).toEqual(['pause', 'resume', 'tune']);
    const human = await runCli(['events', runId], { db: db.url });
    expect(human.code, show(human)).toBe(0);
    expect(human.stdout).toMatch(/^\S+Z {2}tune +web 127\.0\.0\.1 {2}\{"tuning":\{.*"maxRowsPerSec":0.*\}\}$/m);
    // Oldest first, whatever their number: ids in order, times in order.
    const ids = events.map((e: { id: string }) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.length).toBeGreaterThan(10);
  });

  it('approve at the gate: nothing drives the local run, so the server contracts it in the background', async () => {
    await hold.release();
    const atGate = await driver.exited;
    expect(atGate.code, show(atGate)).toBe(0);
    expect(atGate.stdout).toContain(`bellows approve ${runId}`);
    expect(await runRow(runId)).toMatchObject({ phase: 'gate', status: 'awaiting_approval' });

    const approved = await serve.call(`/api/targets/app/runs/${runId}/approve`, { method: 'POST', token: TOKEN });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json().message).toBe(`run ${runId} approved; nothing drives it now, so it contracts from here`);
    await waitFor('the server to contract the run', async () => (await runRow(runId)).status === 'completed');
    expect(await runRow(runId)).toMatchObject({ phase: 'done', status: 'completed' });
    expect(await lastEvent(runId, 'approve')).toMatchObject({ actor: 'web 127.0.0.1' });
    const { rows } = await db.query(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`);
    expect(rows[0].type).toBe('citext');
    await waitFor('the server to say so', async () => serve.proc.stdout().includes(`target app: run ${runId} completed`));

    const again = await serve.call(`/api/targets/app/runs/${runId}/pause`, { method: 'POST', token: TOKEN });
    expect(again.status).toBe(409);
    expect(again.json().error).toBe(`run ${runId} is already completed; nothing to pause`);
  });

  it('rollback of a run nothing drives: the server rolls it back in the background', async () => {
    const accounts = await backfillHold(db, 'public.accounts', 200);
    const file = scratchDir().write('0002_accounts.json', JSON.stringify({
      name: '0002_accounts',
      settings: { batchSize: 50, minBatchSize: 50, maxBatchSize: 50, throttleQuery: accounts.query },
      operations: [vToBigint('accounts')],
    }));
    const columns = async () => (await db.query(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).rows;
    const before = await columns();
    const started = spawnCli(['start', file, '--no-progress'], { db: db.url });
    const id = await startedRunId(started);
    await accounts.held(id);
    started.kill('SIGINT');
    expect((await started.exited).code).toBe(1);
    expect(await columns()).not.toEqual(before);

    const rolled = await serve.call(`/api/targets/app/runs/${id}/rollback`, { method: 'POST', token: TOKEN });
    expect(rolled.status, rolled.text).toBe(200);
    expect(rolled.json().message).toBe(`run ${id}: nothing drives it now; rolling it back from here`);
    await waitFor('the server to roll the run back', async () => (await runRow(id)).status === 'rolled_back');
    expect(await columns()).toEqual(before);
    expect(await lastEvent(id, 'abort')).toMatchObject({ actor: 'web 127.0.0.1' });
  });

  it('readyz: ready while every target answers, 503 naming the one whose database is gone', async () => {
    const ready = await serve.call('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ ready: true, targets: [{ name: 'app', ready: true, error: null }, { name: 'other', ready: true, error: null }] });

    const name = new URL(other.url).pathname.slice(1);
    await db.query(`DROP DATABASE ${name} WITH (FORCE)`);
    const gone = await waitFor('readyz to say the target is gone', async () => {
      const answer = await serve.call('/readyz');
      return answer.status === 503 && answer;
    });
    expect(gone.json()).toMatchObject({ ready: false, targets: [{ name: 'app', ready: true, error: null }, { name: 'other', ready: false, error: expect.any(String) }] });
    // A question to the gone target: not a bug of the server, a database that cannot be reached now.
    const unreachable = await serve.call(`/api/targets/other/runs/${otherRunId}`);
    expect(unreachable.status, unreachable.text).toBe(503);
    expect(unreachable.json().error).toMatch(/^the target database cannot be reached now: /);
    // Still alive, and still serving the target that answers.
    expect((await serve.call('/healthz')).text).toBe('ok');
    const runs = (await serve.call('/api/runs')).json() as Array<{ target: string }>;
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.target === 'app')).toBe(true);
  });

  it('no password of a target in any answer or in the server’s output; SIGTERM stops it cleanly', async () => {
    const stopped = await serve.stop('SIGTERM');
    expect(stopped.code, show(stopped)).toBe(0);
    expect(stopped.stdout).toContain('bellows serve stopped');
    expect(serve.everything()).toContain(':***@');
    expect(secret.length).toBeGreaterThan(5);
    expect(serve.everything()).not.toContain(secret);
  });
});
