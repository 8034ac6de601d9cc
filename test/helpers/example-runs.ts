import { isAbsolute } from 'node:path';
import { expect } from 'vitest';
import { describe as show, playbookPath, runCli } from './cli.ts';
import type { TestDatabase } from './db.ts';
import { engineFor } from './engine.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

/**
 * A playbook run through the CLI as an operator runs it: `start` (which stops at the
 * gate), then `approve`, each checked by its exit code, its output and
 * the run's row in the state store. `file` is an example's name in playbooks/ or a path.
 */
export function exampleRuns(db: TestDatabase) {
  const path = (file: string) => (isAbsolute(file) ? file : playbookPath(file));
  const runState = async (id: string) => (await db.query(`SELECT phase, status FROM bellows.runs WHERE id = $1`, [id])).rows[0];

  /** start → exit 0 at the gate. Returns the run id. */
  async function toGate(file: string): Promise<string> {
    const started = await runCli(['start', path(file), '--no-progress'], { db: db.url });
    expect(started.code, show(started)).toBe(0);
    const id = /run (\d+) started/.exec(started.stdout)?.[1];
    expect(id, show(started)).toBeDefined();
    expect(started.stdout).toContain(`bellows approve ${id}`);
    expect(await runState(id!)).toEqual({ phase: 'gate', status: 'awaiting_approval' });
    return id!;
  }

  async function approve(id: string): Promise<void> {
    const approved = await runCli(['approve', id], { db: db.url });
    expect(approved.code, show(approved)).toBe(0);
    expect(approved.stdout).toContain(`run ${id} completed`);
    expect(await runState(id)).toEqual({ phase: 'done', status: 'completed' });
  }

  /**
   * start → gate → rollback, in this process: the same engine the CLI drives, without
   * two more CLI processes (each costs seconds of CPU on the shared machine).
   */
  async function rollbackAtGate(file: string): Promise<void> {
    const engine = engineFor(db.pool);
    const run = await engine.open(await loadPlaybook(path(file)));
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
  }

  /** start → gate (where `atGate` checks both versions) → approve → completed. Returns the run id. */
  async function startAndApprove(file: string, atGate?: (runId: string) => Promise<void>): Promise<string> {
    const id = await toGate(file);
    await atGate?.(id);
    await approve(id);
    return id;
  }

  return { toGate, approve, rollbackAtGate, startAndApprove };
}
