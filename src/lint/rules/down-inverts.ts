import { defineRule } from '../rule.ts';

/**
 * While both versions run, the old application reads down(up(x)) where it
 * wrote x: if that differs, it sees its own writes change. Checked on a
 * sample of live rows, read-only, when lint has a database.
 */
export const downInverts = defineRule({
  id: 'down-inverts',
  severity: 'error',
  description: 'down does not give back the old value: down(up(x)) differs from x on live rows',
  async check({ origin, location, live, operation }) {
    if (origin !== 'expression' || !live || operation?.kind !== 'alter_column' || !location.field.endsWith('.down')) return [];
    const spec = operation.spec as { table: string; column: string; up?: string; down?: string; name?: string };
    if (!spec.up || !spec.down) return [];
    const found = await live.roundTrip(spec.table, spec.column, spec.name ?? spec.column, spec.up, spec.down);
    if (!found || found.mismatched === 0) return [];
    return [
      {
        message: `down(up(${spec.column})) differs from ${spec.column} on ${found.mismatched} of ${found.sampled} sampled rows, e.g. ${JSON.stringify(found.example)}`,
        safe: 'a down that gives back every old value exactly (or an up that keeps what down needs)',
      },
    ];
  },
});
