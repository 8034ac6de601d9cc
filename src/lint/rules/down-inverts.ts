import { defineRule, type Inverse } from '../rule.ts';

type Spec = Record<string, any>;

/**
 * The operations whose `down` must give back what `up` was given, as old and
 * new columns, and the field a finding is reported at (the first `down`).
 */
function inverseOf(kind: string, spec: Spec): { inverse: Inverse; field: string } | null {
  switch (kind) {
    case 'alter_column':
      return spec.up && spec.down ? { inverse: { olds: [{ column: spec.column, down: spec.down }], news: [{ name: spec.column, up: spec.up }] }, field: 'down' } : null;
    case 'split_column':
      return { inverse: { olds: [{ column: spec.column, down: spec.down }], news: spec.into.map((c: Spec) => ({ name: c.name, up: c.up })) }, field: 'down' };
    case 'merge_columns':
      return { inverse: { olds: spec.columns.map((c: string) => ({ column: c, down: spec.down[c] })), news: [{ name: spec.into.name, up: spec.into.up }] }, field: `down.${spec.columns[0]}` };
    default:
      return null;
  }
}

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
    if (origin !== 'expression' || !live || !operation) return [];
    const found = inverseOf(operation.kind, operation.spec as Spec);
    if (!found || !location.field.endsWith(`.${operation.kind}.${found.field}`)) return [];
    const table = (operation.spec as Spec).table as string;
    const result = await live.roundTrip(table, found.inverse);
    if (!result || result.mismatched === 0) return [];
    const olds = found.inverse.olds.map((o) => o.column).join(', ');
    return [
      {
        message: `down(up(${olds})) differs from ${olds} on ${result.mismatched} of ${result.sampled} sampled rows, e.g. ${result.example}`,
        safe: 'a down that gives back every old value exactly (or an up that keeps what down needs)',
      },
    ];
  },
});
