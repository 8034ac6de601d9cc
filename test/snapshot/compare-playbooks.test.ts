import { describe, expect, it } from 'vitest';
import { comparePlaybooks } from '../../src/snapshot/environments.ts';

/** The playbook half of `bellows diff`: what each side lacks, and the same playbooks applied in another order. */
describe('comparing two histories', () => {
  it('names the playbooks only one side applied', () => {
    expect(comparePlaybooks(['p1', 'p2', 'p3'], ['p1', 'p4'])).toEqual({ a: ['p1', 'p2', 'p3'], b: ['p1', 'p4'], onlyInA: ['p2', 'p3'], onlyInB: ['p4'], order: null, severity: 'warning' });
  });

  it('reports the playbooks both applied when their order differs, and nothing when it does not', () => {
    expect(comparePlaybooks(['p1', 'p2', 'p3'], ['p2', 'p1', 'p3']).order).toEqual({ a: ['p1', 'p2', 'p3'], b: ['p2', 'p1', 'p3'] });
    // A playbook missing on one side does not make the rest out of order.
    expect(comparePlaybooks(['p1', 'p2', 'p3'], ['p1', 'p3']).order).toBeNull();
    expect(comparePlaybooks(['p1', 'p2'], ['p1', 'p2']).severity).toBeNull();
  });
});
