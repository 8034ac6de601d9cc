import { defineRule } from '../rule.ts';
import { volatileCalls } from '../volatility.ts';

/**
 * `up` runs in the backfill's batches, in the dual-write triggers and in
 * verify, at different moments: a volatile call gives each a different value,
 * so verify cannot prove the new column equals up(old), and a row differs by
 * who wrote it.
 */
export const volatileUp = defineRule({
  id: 'volatile-up',
  severity: 'error',
  description: 'an up expression that calls a volatile function is not deterministic',
  async check({ statement, origin, location, live }) {
    if (origin !== 'expression' || !location.field.endsWith('.up')) return [];
    const volatile = await volatileCalls(statement.node, live);
    return volatile.length
      ? [{ message: `up calls ${volatile.map((f) => `${f}()`).join(', ')}, volatile: backfill, triggers and verify each get another value`, safe: 'a deterministic expression of the old columns; a random or generated value belongs in a default' }]
      : [];
  },
});
