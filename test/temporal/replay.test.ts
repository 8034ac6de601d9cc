import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { workflowBundlePath } from './harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
/**
 * A whole run (expand to contract, with an approve update) recorded from the
 * real server. Regenerate after an intended, versioned change of the workflow:
 * BELLOWS_RECORD_HISTORY=1 npx vitest run test/temporal/full-run.test.ts
 */
const json = JSON.parse(readFileSync(new URL('./fixtures/migration-run.history.json', import.meta.url), 'utf8'));
// Decoded with the proto package itself: the SDK's own JSON path trips over two copies of protobufjs in node_modules.
const history = temporal.api.history.v1.History.fromObject(json);

describe('workflow determinism', () => {
  it('replays a recorded run against the current workflow code', async () => {
    expect(history.events.length).toBeGreaterThan(50);
    expect(json.events.at(-1).eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, history, 'recorded-run');
  });

  it('fails the replay when the workflow changes the order of its steps', async () => {
    // The control that proves the test above can fail: a copy of the workflow whose phase decision dual-writes before it expands.
    const dir = mkdtempSync(join(ROOT, '.tmp', 'mutant-'));
    try {
      cpSync(join(ROOT, 'workflows'), join(dir, 'workflows'), { recursive: true });
      mkdirSync(join(dir, 'src', 'engine'), { recursive: true });
      cpSync(join(ROOT, 'src', 'engine', 'decide.ts'), join(dir, 'src', 'engine', 'decide.ts'));
      const file = join(dir, 'src', 'engine', 'decide.ts');
      const source = readFileSync(file, 'utf8');
      const mutant = source.replace("steps('expand', 'dualWrite')", "steps('dualWrite', 'expand')");
      expect(mutant).not.toBe(source);
      writeFileSync(file, mutant);
      const { code } = await bundleWorkflowCode({ workflowsPath: join(dir, 'workflows', 'index.ts'), logger: new DefaultLogger('ERROR') });
      await expect(Worker.runReplayHistory({ workflowBundle: { code } }, history, 'mutant')).rejects.toBeInstanceOf(DeterminismViolationError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
