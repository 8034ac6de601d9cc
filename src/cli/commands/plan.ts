import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkThrottleSettings } from '../../backfill/throttles/index.ts';
import { compilePlan } from '../../engine/compile.ts';
import { describePlan, type PlanSection } from '../../engine/plan-text.ts';
import { InputError } from '../../errors.ts';
import { runPlan } from '../../operator/index.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';
import { planFindings } from '../../lint/plan-findings.ts';
import { liveFacts } from '../../lint/live.ts';
import type { Finding } from '../../lint/rule.ts';

/** A finding as plan shows it under its statement: the lock analysis of `bellows lint`, in one line. */
function lintLine(f: Finding): string {
  return `${f.severity} ${f.rule}: ${f.message}; safe: ${f.safe}`;
}

export function planCommand(program: Command): void {
  program
    .command('plan')
    .description('show the SQL of every phase and the lock each statement takes; runs nothing')
    .argument('[playbook]', 'playbook file (.yaml, .yml or .json)')
    .option('--run <run>', 'instead of a playbook file: the plan a run was started with (run id, or playbook name for its latest run)')
    .option('--json', 'machine-readable output')
    .action(async (path: string | undefined, options, cmd: Command) => {
      if (path === undefined && options.run === undefined) throw new InputError('plan: give a playbook file, or --run <run> for the plan of a run');
      if (path !== undefined && options.run !== undefined) throw new InputError('plan: give a playbook file or --run <run>, not both');
      if (options.run !== undefined) {
        // The stored plan, read from the state store (made first if missing, as status does).
        await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
          const plan = await runPlan(ctx, options.run);
          if (options.json) return printJson(plan);
          printPlan(`run ${plan.run} of ${plan.playbook}`, plan.phases);
        });
        return;
      }
      const file = path!;
      const playbook = await loadPlaybook(file);
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const plan = await compilePlan(ctx.pool, playbook, ctx.store.schemaName, dirname(resolve(file)));
        await checkThrottleSettings(ctx.pool, playbook.settings);
        const described = describePlan(plan);
        const findings = await planFindings(described, playbook, file, liveFacts(ctx.pool));
        const sections = described.map((section, s) => ({
          ...section,
          statements: section.statements.map((statement, i) => ({ ...statement, lint: findings[s][i].map(lintLine) })),
        }));
        if (options.json) return printJson({ playbook: playbook.name, phases: sections });
        printPlan(`${playbook.name}${playbook.description ? `: ${playbook.description}` : ''}`, sections);
      }, { migrate: false });
    });
}

function printPlan(title: string, sections: Array<PlanSection & { statements: Array<{ lint?: string[] }> }>): void {
  print(`-- plan of ${title}`);
  for (const section of sections) {
    print(`\n-- == ${section.phase} ==`);
    if (section.statements.length === 0) print('-- (nothing)');
    for (const s of section.statements) {
      // Above the lock line, which stays right before its statement.
      for (const finding of s.lint ?? []) print(`-- lint: ${finding}`);
      print(`-- ${s.note}; lock: ${s.lock}`);
      print(`${s.sql};`);
    }
  }
}
