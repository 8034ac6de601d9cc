import { describe, expect, it } from 'vitest';
import { afterFailure, decide, type Decision, type RunView } from '../../src/engine/decide.ts';
import { PHASES, type Phase } from '../../src/state/types.ts';

const base: RunView = { phase: 'expand', status: 'running', desired: {}, autoContract: false, executor: 'local' };

const backfillRanges: Decision = { next: 'ranges', task: 'backfill', status: 'running', then: ['finishBackfill', 'prepareVerify'] };
const verifyRanges: Decision = { next: 'ranges', task: 'verify', status: 'running', then: ['finishVerify'] };
const waitResume: Decision = { next: 'wait', until: 'resume', status: 'paused' };
const waitApproval: Decision = { next: 'wait', until: 'approval', status: 'awaiting_approval' };
const steps = (...names: string[]) => ({ next: 'steps', steps: names });
const finish = (outcome: string) => ({ next: 'finish', outcome });

type Intent = 'none' | 'paused' | 'approved' | 'abort' | 'autoContract' | 'moved';

/** Every phase × every intent, and the decision each must give. */
const table: Record<Phase, Record<Intent, unknown>> = {
  expand: { none: steps('expand', 'dualWrite'), paused: steps('expand', 'dualWrite'), approved: steps('expand', 'dualWrite'), abort: steps('rollback'), autoContract: steps('expand', 'dualWrite'), moved: finish('moved') },
  dual_write: { none: steps('dualWrite', 'prepareBackfill'), paused: steps('dualWrite', 'prepareBackfill'), approved: steps('dualWrite', 'prepareBackfill'), abort: steps('rollback'), autoContract: steps('dualWrite', 'prepareBackfill'), moved: finish('moved') },
  backfill: { none: backfillRanges, paused: waitResume, approved: backfillRanges, abort: steps('rollback'), autoContract: backfillRanges, moved: finish('moved') },
  verify: { none: verifyRanges, paused: waitResume, approved: verifyRanges, abort: steps('rollback'), autoContract: verifyRanges, moved: finish('moved') },
  gate: { none: waitApproval, paused: waitApproval, approved: steps('contract'), abort: steps('rollback'), autoContract: steps('contract'), moved: finish('moved') },
  contract: { none: steps('contract'), paused: steps('contract'), approved: steps('contract'), abort: steps('rollback'), autoContract: steps('contract'), moved: finish('moved') },
  done: { none: finish('completed'), paused: finish('completed'), approved: finish('completed'), abort: finish('completed'), autoContract: finish('completed'), moved: finish('completed') },
  rollback: { none: steps('rollback'), paused: steps('rollback'), approved: steps('rollback'), abort: steps('rollback'), autoContract: steps('rollback'), moved: steps('rollback') },
};

function view(phase: Phase, intent: Intent): RunView {
  return {
    ...base,
    phase,
    status: phase === 'done' ? 'completed' : phase === 'rollback' ? 'rolling_back' : 'running',
    desired: { paused: intent === 'paused', approved: intent === 'approved', abort: intent === 'abort' },
    autoContract: intent === 'autoContract',
    executor: intent === 'moved' ? 'temporal' : 'local',
  };
}

describe('the phase decision', () => {
  const cases = [...PHASES, 'rollback' as const].flatMap((phase) =>
    (Object.keys(table[phase]) as Intent[]).map((intent) => ({ phase, intent, expected: table[phase][intent] })),
  );

  it('covers every phase and every intent', () => {
    expect(new Set(cases.map((c) => c.phase)).size).toBe(PHASES.length + 1);
    expect(cases).toHaveLength((PHASES.length + 1) * 6);
  });

  it.each(cases)('$phase with intent $intent', ({ phase, intent, expected }) => {
    expect(decide(view(phase, intent), 'local')).toEqual(expected);
  });

  it('ends a rolled-back run whatever its phase or intent says', () => {
    expect(decide({ ...base, phase: 'backfill', status: 'rolled_back', desired: { abort: true } }, 'local')).toEqual(finish('rolled_back'));
    expect(decide({ ...base, phase: 'rollback', status: 'rolled_back' }, 'local')).toEqual(finish('rolled_back'));
  });

  it('rolls back a failed expand or dual-write and halts on any later failure', () => {
    expect(PHASES.map((p) => [p, afterFailure(p)])).toEqual([
      ['expand', 'rollback'],
      ['dual_write', 'rollback'],
      ['backfill', 'halt'],
      ['verify', 'halt'],
      ['gate', 'halt'],
      ['contract', 'halt'],
      ['done', 'halt'],
    ]);
  });
});
