import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { measureDrift } from '../../src/snapshot/drift.ts';
import { StateStore } from '../../src/state/store.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';

/** What drift compares with when the last applied playbook has no usable snapshot: bad input, saying why. */

let db: TestDatabase;
let store: StateStore;

beforeAll(async () => {
  db = await freshDatabase();
  store = new StateStore(db.pool);
  await store.migrate();
});

describe('drift without a usable snapshot of the last applied playbook', () => {
  it('a playbook imported from another tool has none: bad input naming it', async () => {
    await store.recordImported(db.pool, { playbookName: 'p_imported', checksum: 'c', appliedAt: new Date('2026-01-01T00:00:00Z') });
    const err = await measureDrift(store).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('drift: no snapshot of playbook p_imported, the last applied: it was imported from another tool');
  });

  it('a snapshot of a format this bellows does not read: bad input naming both formats', async () => {
    await db.query(`INSERT INTO bellows.history (playbook_name, checksum, run_id, applied_at) VALUES ('p_later', 'c', 7, '2026-02-01')`);
    await db.query(`INSERT INTO bellows.snapshots (playbook_name, run_id, snapshot) VALUES ('p_later', 7, '{"format": 99, "objects": []}')`);
    const err = await measureDrift(store).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('drift: the snapshot of playbook p_later has format 99; this bellows reads format 1');
  });
});
