import { InputError } from '../errors.ts';
import { operationEntries, type Playbook } from '../playbook/schema.ts';
import { RULES, RULE_IDS } from './index.ts';
import { readsOperations, type Finding, type LiveFacts, type Subject } from './rule.ts';
import type { Statement } from './subjects.ts';

/** The rules a playbook switches off; an unknown id is bad input (a typo would silently switch nothing off). */
export function disabledRules(playbook: Playbook, file: string): Set<string> {
  const disabled = new Set<string>();
  for (const [i, d] of (playbook.lint?.disable ?? []).entries()) {
    if (!RULE_IDS.includes(d.rule)) throw new InputError(`${file}: lint.disable[${i}].rule: no lint rule "${d.rule}"; the rules are ${RULE_IDS.join(', ')}`);
    disabled.add(d.rule);
  }
  return disabled;
}

export interface LintOptions {
  lockTimeoutMs: number;
  live?: LiveFacts;
  disabled?: ReadonlySet<string>;
}

/** Every rule over every statement, each seeing the statements before it. */
export async function lintStatements(statements: Statement[], options: LintOptions): Promise<Finding[]> {
  const findings: Finding[] = [];
  const earlier: Subject[] = [];
  for (const statement of statements) {
    const subject: Subject = { ...statement, earlier: [...earlier], lockTimeoutMs: options.lockTimeoutMs, live: options.live };
    for (const rule of RULES) {
      if (options.disabled?.has(rule.id)) continue;
      for (const found of await rule.check(subject)) {
        findings.push({ rule: rule.id, severity: found.severity ?? rule.severity, location: statement.location, message: found.message, safe: found.safe });
      }
    }
    earlier.push(subject);
  }
  return findings;
}

/** The findings of the rules that read the operations together rather than one statement at a time. */
export function operationFindings(playbook: Playbook, file: string, disabled: ReadonlySet<string>): Finding[] {
  const entries = operationEntries(playbook);
  return RULES.filter((rule) => readsOperations(rule) && !disabled.has(rule.id)).flatMap((rule) =>
    readsOperations(rule) ? rule.checkOperations(entries, file).map((f) => ({ rule: rule.id, severity: rule.severity, ...f })) : [],
  );
}
