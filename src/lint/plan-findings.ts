import type { PlanSection } from '../engine/plan-text.ts';
import type { Playbook } from '../playbook/schema.ts';
import { disabledRules, lintStatements } from './lint.ts';
import { parseStatements } from './parser.ts';
import type { Finding, LiveFacts } from './rule.ts';
import type { Statement } from './subjects.ts';

import { RAW_SQL_NOTES } from '../operations/sql.ts';

const RAW = new Set<string>(Object.values(RAW_SQL_NOTES));

/**
 * The lint findings of each statement `plan` shows, by section and statement:
 * the same rules as `bellows lint`, over the plan in the order it runs. The
 * backfill's and verify's per-batch templates (`<checkpoint>`) are not SQL
 * until a batch fills them in, and only read or update one batch of rows.
 */
export async function planFindings(sections: PlanSection[], playbook: Playbook, file: string, live?: LiveFacts): Promise<Finding[][][]> {
  const statements: Statement[] = [];
  const at: Array<[number, number]> = [];
  sections.forEach((section, s) => {
    const phase = section.phase.startsWith('contract') ? 'contract' : 'expand';
    section.statements.forEach((planned, i) => {
      const parsed = parseStatements(planned.sql);
      if ('error' in parsed) return;
      const raw = RAW.has(planned.note);
      const origin = !raw ? 'compiled' : section.phase.startsWith('rollback') ? 'rollback' : 'raw';
      for (const statement of parsed.statements) {
        statements.push({ statement, origin, phase, location: { file, field: `plan.${section.phase.split(' ')[0]}[${i}]` } });
        at.push([s, i]);
      }
    });
  });
  const findings = sections.map((section) => section.statements.map((): Finding[] => []));
  const found = await lintStatements(statements, { lockTimeoutMs: playbook.settings.lockTimeoutMs, live, disabled: disabledRules(playbook, file) });
  for (const finding of found) {
    const index = statements.findIndex((st) => st.location === finding.location);
    const [s, i] = at[index];
    findings[s][i].push(finding);
  }
  return findings;
}
