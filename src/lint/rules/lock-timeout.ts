import { defineRule } from '../rule.ts';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A lock_timeout setting's value in ms (a bare number is ms, as PostgreSQL reads it); NaN if unreadable. */
function settingMs(arg: Record<string, any> | undefined): number {
  const c = arg?.A_Const;
  if (!c) return NaN;
  if (c.ival) return c.ival.ival ?? 0;
  if (c.ival !== undefined) return 0; // the parser leaves out a zero
  const text = String(c.sval?.sval ?? '').trim();
  const number = Number.parseFloat(text);
  const unit = text.slice(String(number).length).trim() || 'ms';
  return number * (UNIT_MS[unit] ?? NaN);
}

/**
 * bellows runs every statement, raw SQL too, under the playbook's lock_timeout
 * (settings.lockTimeoutMs) and retries it: a statement queued behind a long
 * transaction would otherwise hold up every query on its table. So the raw
 * SQL that is missing a lock_timeout is the one that takes it away (RESET,
 * DEFAULT, 0) or raises it beyond the playbook's.
 */
export const lockTimeout = defineRule({
  id: 'lock-timeout',
  severity: 'error',
  description: "raw SQL that removes or raises the lock_timeout bellows runs it under",
  check({ statement: { kind, node }, origin, lockTimeoutMs }) {
    if (origin !== 'raw' && origin !== 'rollback') return [];
    if (kind !== 'VariableSetStmt') return [];
    const all = node.kind === 'VAR_RESET_ALL';
    if (!all && node.name !== 'lock_timeout') return [];
    const ms = node.kind === 'VAR_SET_VALUE' ? settingMs(node.args?.[0]) : 0;
    if (node.kind === 'VAR_SET_VALUE' && ms > 0 && ms <= lockTimeoutMs) return [];
    return [
      {
        message: all || node.kind !== 'VAR_SET_VALUE' ? 'raw SQL resets lock_timeout: its statements may queue for a lock without limit' : `raw SQL sets lock_timeout to ${ms === 0 ? '0 (no limit)' : `${ms}ms, above the playbook's ${lockTimeoutMs}ms`}`,
        safe: `leave lock_timeout to bellows (settings.lockTimeoutMs, ${lockTimeoutMs}ms now), or SET LOCAL lock_timeout to at most that`,
      },
    ];
  },
});
