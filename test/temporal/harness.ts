import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { inject } from 'vitest';
import { atFileEnd } from '../helpers/cleanup.ts';
import { StateStore } from '../../src/state/store.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';
import { openRun } from '../../src/engine/start.ts';
import { temporalSettings, type TemporalSettings } from '../../src/executors/temporal/config.ts';
import { TemporalExecutor } from '../../src/executors/temporal/temporal-executor.ts';
import { WORKFLOWS_PATH, createBellowsWorker } from '../../src/executors/temporal/worker.ts';
import type { RunRecord } from '../../src/state/types.ts';
import { silentLog } from '../helpers/engine.ts';
import type { TestDatabase } from '../helpers/db.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

try {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
} catch {
  // Already installed in this process by another file of the same fork.
}

/**
 * The workflow bundle, built once per change of workflows/ and shared by the
 * test files and the worker subprocesses (BELLOWS_WORKFLOW_BUNDLE), so each
 * file does not pay for webpack.
 */
export async function workflowBundlePath(): Promise<string> {
  const hash = createHash('sha256');
  for (const f of readdirSync(join(ROOT, 'workflows')).sort()) hash.update(f).update(readFileSync(join(ROOT, 'workflows', f)));
  const dir = join(ROOT, '.tmp');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (!existsSync(path)) {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, code);
    renameSync(tmp, path);
  }
  return path;
}

export function testSettings(overrides: Partial<TemporalSettings> = {}): TemporalSettings {
  // An empty environment: the tests say exactly what they run with.
  return temporalSettings({ address: inject('temporalAddress'), namespace: 'default', heartbeatTimeoutMs: 3_000, ...overrides }, {});
}

/**
 * A state store, a Temporal executor and (unless the test brings its own
 * worker processes) an in-process worker for one test database. The executor
 * the CLI code builds from the environment points at the same server.
 */
export async function temporalHarness(db: TestDatabase, options: { worker?: boolean; settings?: Partial<TemporalSettings> } = {}) {
  const settings = testSettings(options.settings);
  process.env.TEMPORAL_ADDRESS = settings.address;
  const store = new StateStore(db.pool);
  await store.migrate();
  const executor = new TemporalExecutor({ db: db.pool, store, log: silentLog }, settings);
  let stopWorker = async () => {};
  if (options.worker !== false) {
    const { worker, connection } = await createBellowsWorker({
      db: db.pool,
      store,
      log: silentLog,
      settings,
      shutdownGraceMs: 1_000,
      workflowBundle: { codePath: await workflowBundlePath() },
    });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running.catch(() => {});
      await connection.close();
    };
  }
  atFileEnd(async () => {
    await stopWorker();
    await executor.close();
  });
  return {
    settings,
    store,
    executor,
    ctx: { pool: db.pool, store, log: silentLog, actor: store.actor },
    async open(document: unknown): Promise<RunRecord> {
      const { run } = await openRun(db.pool, store, { playbook: parsePlaybook(document), executor: 'temporal' });
      return run;
    },
    async rowsDone(runId: string, task: 'backfill' | 'verify' = 'backfill'): Promise<number> {
      return (await store.getRanges(runId, task)).reduce((n, r) => n + r.rowsDone, 0);
    },
  };
}
