import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkThrottleSettings } from '../../backfill/throttles/index.ts';
import { compilePlan } from '../../engine/compile.ts';
import { describePlan } from '../../engine/plan-text.ts';
import { loadPlaybook } from '../../playbook/load.ts';
import { withDatabase } from '../context.ts';
import { print, printJson } from '../output.ts';

export function planCommand(program: Command): void {
  program
    .command('plan')
    .description('show the SQL of every phase and the lock each statement takes; runs nothing')
    .argument('<playbook>', 'playbook file (.yaml, .yml or .json)')
    .option('--json', 'machine-readable output')
    .action(async (path: string, options, cmd: Command) => {
      const playbook = await loadPlaybook(path);
      await withDatabase(cmd.optsWithGlobals(), async (ctx) => {
        const plan = await compilePlan(ctx.pool, playbook, ctx.store.schemaName, dirname(resolve(path)));
        await checkThrottleSettings(ctx.pool, playbook.settings);
        const sections = describePlan(plan);
        if (options.json) return printJson({ playbook: playbook.name, phases: sections });
        print(`-- plan of ${playbook.name}${playbook.description ? `: ${playbook.description}` : ''}`);
        for (const section of sections) {
          print(`\n-- == ${section.phase} ==`);
          if (section.statements.length === 0) print('-- (nothing)');
          for (const s of section.statements) {
            print(`-- ${s.note}; lock: ${s.lock}`);
            print(`${s.sql};`);
          }
        }
      }, { migrate: false });
    });
}
