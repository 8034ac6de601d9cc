import { dirname, resolve } from 'node:path';
import type pg from 'pg';
import { compilePlan } from '../engine/compile.ts';
import type { Playbook } from '../playbook/schema.ts';
import { disabledRules, lintStatements, operationFindings } from './lint.ts';
import type { Finding, LiveFacts } from './rule.ts';
import { unfilledPlaceholders } from '../generate/placeholder.ts';
import { planStatements, playbookStatements } from './subjects.ts';

export interface LiveTarget {
  pool: pg.Pool;
  stateSchema: string;
  facts: LiveFacts;
}

/**
 * A playbook's findings: what it writes itself (raw SQL, expressions) always;
 * with a database, also every statement of its compiled plan, and the rules
 * that read live sizes, volatility and rows.
 */
export async function lintPlaybook(playbook: Playbook, file: string, live?: LiveTarget): Promise<Finding[]> {
  const disabled = disabledRules(playbook, file);
  const statements = playbookStatements(playbook, file);
  // A placeholder names no column, so neither the plan nor the live rules can read it: the unfilled-placeholder finding says so, and the rest is linted once it is filled in.
  if (unfilledPlaceholders(playbook).length) live = undefined;
  if (live) {
    const plan = await compilePlan(live.pool, playbook, live.stateSchema, dirname(resolve(file)));
    statements.unshift(...planStatements(plan, file));
  }
  const findings = await lintStatements(statements, { lockTimeoutMs: playbook.settings.lockTimeoutMs, live: live?.facts, disabled });
  return [...findings, ...operationFindings(playbook, file, disabled)];
}
