import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { ConflictError } from '../../src/errors.ts';

/**
 * One run at a time changes a view, a function or a type, as one run at a time
 * migrates a table: a second run that would change the same object is refused
 * at start, and runs nothing, until the first finishes or is rolled back.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE items (id bigserial PRIMARY KEY, label text)`);
});

const fn = (name: string, body: string) => ({ name, operations: [{ create_function: { name: 'label_of', args: 'x text', returns: 'text', language: 'sql', body } }] });

describe('objects a run claims', () => {
  it('refuses a second run on the same function and on the same view until the first is rolled back', async () => {
    const engine = engineFor(db.pool);
    const first = await engine.open({
      name: 'first_objects',
      operations: [
        { create_function: { name: 'label_of', args: 'x text', returns: 'text', language: 'sql', body: 'SELECT upper(x)' } },
        { create_view: { name: 'item_labels', query: 'SELECT id, label FROM public.items' } },
      ],
    });
    expect(await engine.executor.drive(first, { stopAtGate: true })).toBe('awaiting_approval');

    const refused = (doc: unknown) => engine.open(doc).then(() => null, (err: Error) => err);
    const sameFunction = await refused(fn('second_function', 'SELECT lower(x)'));
    expect(sameFunction).toBeInstanceOf(ConflictError);
    expect(sameFunction!.message).toBe(`function public.label_of is already being changed by run ${first.id} (first_objects); finish or roll it back first`);
    const sameView = await refused({ name: 'second_view', operations: [{ drop_view: { name: 'item_labels' } }] });
    expect(sameView!.message).toBe(`table public.item_labels is already being migrated by run ${first.id} (first_objects); finish or roll it back first`);
    expect((await db.query(`SELECT count(*)::int AS n FROM bellows.runs`)).rows[0].n).toBe(1);

    await engine.store.setDesired(first.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(first.id), { stopAtGate: true })).toBe('rolled_back');
    const again = await engine.runToEnd(fn('second_function', 'SELECT lower(x)'));
    expect(again.status).toBe('completed');
    expect((await db.query(`SELECT public.label_of('AbC') AS l`)).rows[0].l).toBe('abc');
  });
});
