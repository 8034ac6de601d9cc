import { expect } from 'vitest';
import { describe as show, playbookPath, runCli } from '../helpers/cli.ts';

/** Applies an example playbook as an operator does: start (to the gate), then approve; fails the test with the output if it does not complete. */
export async function applyPlaybook(db: string, file: string): Promise<void> {
  const started = await runCli(['start', playbookPath(file), '--no-progress'], { db });
  expect(started.code, show(started)).toBe(0);
  const id = /run (\d+) started/.exec(started.stdout)?.[1];
  expect(id, show(started)).toBeDefined();
  const approved = await runCli(['approve', id!], { db });
  expect(approved.stdout, show(approved)).toContain(`run ${id} completed`);
}
