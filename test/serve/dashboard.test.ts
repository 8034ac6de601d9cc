import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { backfillHold, tableReader, type BackfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { waitFor } from '../helpers/poll.ts';
import { startServe, type ServeProcess } from '../helpers/serve.ts';

/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core)
 * against `bellows serve` and real PostgreSQL, during a live backfill: it sees
 * progress advance without a reload, and its buttons change the state store.
 */

const ROWS = 3000;
const TOKEN = 'dashboard-token-51c7';
/** Written by every run of this test: the dashboard mid-backfill, as the README shows it. */
const SCREENSHOT = '.tmp/dashboard-mid-backfill.png';

let db: TestDatabase;
let hold: BackfillHold;
let runId: string;
let driving: Promise<unknown>;
let serve: ServeProcess;
let browser: Browser;

beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'items', ROWS);
  hold = await backfillHold(db, 'public.items', 300);
  const engine = engineFor(db.pool);
  const run = await engine.open({
    name: 'items_bigint',
    settings: { batchSize: 50, maxBatchSize: 50, maxRowsPerSec: 2000, parallelism: 2, throttleQuery: hold.query },
    operations: [vToBigint('items')],
  });
  runId = run.id;
  // Driven here, as a terminal's `bellows start` would, and caught at once (its end is awaited later).
  driving = engine.executor.drive(run, { stopAtGate: true }).catch((err: unknown) => err);
  await hold.held(runId);
  serve = await startServe(['--target', `app=${db.url}`], { token: TOKEN });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // As root in a sandbox without a network: no sandbox, and none of Chromium's own calls home.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await hold?.release();
  await driving;
  await serve?.stop();
});

interface RunRow {
  phase: string;
  status: string;
  desired: { paused?: boolean; approved?: boolean };
}

async function runRow(): Promise<RunRow> {
  return (await db.query(`SELECT phase, status, desired FROM bellows.runs WHERE id = $1`, [runId])).rows[0] as RunRow;
}

async function openRun(page: Page, id = runId): Promise<void> {
  await page.goto(serve.url);
  await page.locator(`#runs tr[data-run="${id}"]`).click();
  await page.locator('#run-pane').waitFor();
}

/** The backfill bar's percentage as the page shows it. */
async function shownPercent(page: Page): Promise<number> {
  return Number(await page.locator('.task[data-task="backfill"] > .bar').getAttribute('data-percent'));
}

describe('the dashboard', () => {
  it('follows a live backfill without reload; pause, resume and approve from the page reach the state store', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await openRun(page);
    await expect.poll(() => shownPercent(page), { timeout: 20_000 }).toBeGreaterThan(0);
    const before = await shownPercent(page);
    mkdirSync('.tmp', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A mark only this document carries: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await hold.holdAt(1500);
    await expect.poll(() => shownPercent(page), { timeout: 30_000 }).toBeGreaterThan(before);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await expect.poll(async () => (await page.locator('#events li').allTextContents()).join('\n')).toContain('run_created');
    expect(await page.locator('#plan summary').allTextContents()).toContainEqual(expect.stringMatching(/^expand \(\d+ statements\)$/));
    expect(JSON.parse((await page.locator('#playbook').textContent())!)).toMatchObject({ name: 'items_bigint', operations: [vToBigint('items')] });

    // The server wants the token, and this tab has not given it: refused, and the page says why.
    await page.locator('#actions button[data-action="pause"]').click();
    await expect.poll(() => page.locator('#action-result').textContent()).toMatch(/^pause refused: .*token/i);
    expect((await runRow()).desired.paused).toBeFalsy();

    await page.locator('#token').fill(TOKEN);
    await page.locator('#token-form button').click();
    await page.locator('#actions button[data-action="pause"]').click();
    await waitFor('the run paused in the state store', async () => (await runRow()).status === 'paused');
    await expect.poll(() => page.locator(`#runs tr[data-run="${runId}"] .run-state`).textContent()).toBe('paused');

    await page.locator('#actions button[data-action="resume"]').click();
    await waitFor('the run running again', async () => {
      const row = await runRow();
      return !row.desired.paused && row.status === 'running';
    });

    await hold.release();
    await waitFor('the run at its gate', async () => (await runRow()).status === 'awaiting_approval', 60_000);
    await page.locator('#actions button[data-action="approve"]').click();
    // Approve asks first; cancelling changes nothing.
    await page.locator('#confirm button[value="cancel"]').click();
    expect((await runRow()).desired.approved).toBeFalsy();
    await page.locator('#actions button[data-action="approve"]').click();
    await page.locator('#confirm-ok').click();
    await waitFor('the run completed by the server', async () => (await runRow()).status === 'completed', 60_000);
    await expect.poll(() => page.locator(`#runs tr[data-run="${runId}"] .run-state`).textContent()).toBe('completed');
    const { rows } = await db.query(`SELECT count(*)::int AS n, sum(v)::text AS total FROM items`);
    expect(rows[0]).toEqual({ n: ROWS, total: String((ROWS * (ROWS + 1)) / 2) });
    await page.close();
  });

  it('on a server without a token: every button is disabled and the page says why', async () => {
    const readOnly = await startServe(['--target', `app=${db.url}`]);
    try {
      const page = await browser.newPage();
      await page.goto(readOnly.url);
      await page.locator(`#runs tr[data-run="${runId}"]`).click();
      await expect.poll(() => page.locator('#read-only').isVisible()).toBe(true);
      expect(await page.locator('#read-only').textContent()).toContain('BELLOWS_TOKEN');
      for (const action of ['pause', 'resume', 'approve', 'rollback']) {
        const button = page.locator(`#actions button[data-action="${action}"]`);
        expect(await button.isDisabled()).toBe(true);
        expect(await button.getAttribute('title')).toMatch(/read-only server/);
      }
      // A request made anyway is refused by the server, not only by the page.
      const status = await page.evaluate(async (path) => (await fetch(path, { method: 'POST' })).status, `/api/targets/app/runs/${runId}/rollback`);
      expect(status).toBe(403);
      await page.close();
    } finally {
      await readOnly.stop();
    }
  });

  it('a run whose expand waits for a lock shows the lock-wait banner, and drops it once the lock is had', async () => {
    await numberedTable(db, 'accounts', 10);
    const engine = engineFor(db.pool);
    // Retries that outlast any test: the run waits for as long as the test holds the lock.
    const run = await engine.open({ name: 'accounts_bigint', settings: { lockTimeoutMs: 500, retries: 100 }, operations: [vToBigint('accounts')] });
    // Expand's ALTER TABLE waits behind this reader until it is released.
    const { release } = await tableReader(db, 'accounts');
    const expanding = engine.executor.drive(run, { stopAtGate: true }).catch((err: unknown) => err);
    try {
      const page = await browser.newPage();
      await openRun(page, run.id);
      const banner = page.locator('#lock-wait');
      await expect.poll(() => banner.isVisible(), { timeout: 30_000 }).toBe(true);
      expect(await banner.textContent()).toMatch(/^waiting for a lock: expand:\S+, retry \d+ of 100, each waiting up to 500 ms \(see deploy\/runbooks\/stuck-lock\.md\)$/);
      await release();
      await expect.poll(() => banner.isVisible(), { timeout: 30_000 }).toBe(false);
      await page.close();
    } finally {
      await release();
      await expanding;
    }
    expect((await db.query(`SELECT status FROM bellows.runs WHERE id = $1`, [run.id])).rows[0].status).toBe('awaiting_approval');
  });
});
