import { beforeAll, describe, expect, it } from 'vitest';
import { ident } from '../../src/db/sql.ts';
import { compareSnapshots } from '../../src/snapshot/compare.ts';
import { objectKey, type SchemaSnapshot } from '../../src/snapshot/format.ts';
import { takeSnapshot } from '../../src/snapshot/take.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { testRole } from '../helpers/roles.ts';

/**
 * Each kind of object a snapshot covers: made, found in the snapshot, changed,
 * and the change named by kind, name and attribute. bellows' own objects (its
 * state schema, a run's `_bellows…` triggers and functions) are left out.
 */

let db: TestDatabase;
let role: string;
let before: SchemaSnapshot;

const snapshot = () => takeSnapshot(db.pool, { excludeSchemas: ['bellows_state'] });

beforeAll(async () => {
  db = await freshDatabase();
  role = await testRole(db, 'reader');
  await db.query(`
    CREATE SCHEMA shop;
    CREATE TYPE shop.mood AS ENUM ('sad', 'ok');
    CREATE SEQUENCE shop.ticket_seq START 10 INCREMENT 5;
    CREATE TABLE shop.items (
      id      int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name    text COLLATE "C" NOT NULL DEFAULT 'x',
      price   numeric CONSTRAINT items_price_check CHECK (price >= 0),
      mood    shop.mood,
      doubled numeric GENERATED ALWAYS AS (price * 2) STORED
    );
    CREATE INDEX items_name_idx ON shop.items (name);
    CREATE VIEW shop.cheap AS SELECT id, name FROM shop.items WHERE price < 10;
    CREATE MATERIALIZED VIEW shop.totals AS SELECT count(*) AS n FROM shop.items;
    CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE TRIGGER items_touch BEFORE UPDATE ON shop.items FOR EACH ROW EXECUTE FUNCTION shop.touch();
    COMMENT ON TABLE shop.items IS 'things for sale';
    -- What bellows itself leaves while a run is in flight, and its state: never the user's schema.
    CREATE FUNCTION shop._bellows_0001_00() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE TRIGGER _bellows_0001_00 BEFORE INSERT ON shop.items FOR EACH ROW EXECUTE FUNCTION shop._bellows_0001_00();
    CREATE SCHEMA bellows_state;
    CREATE TABLE bellows_state.runs (id int);
  `);
  before = await snapshot();
});

describe('a snapshot', () => {
  it('has one entry for each object, named and in a fixed order', async () => {
    const keys = before.objects.map(objectKey);
    expect(keys).toEqual(expect.arrayContaining([
      'schema shop',
      'enum shop.mood',
      'sequence shop.ticket_seq',
      'table shop.items',
      'column shop.items.id',
      'column shop.items.name',
      'column shop.items.doubled',
      'constraint shop.items.items_pkey',
      'constraint shop.items.items_price_check',
      'index shop.items_name_idx',
      'index shop.items_pkey',
      'view shop.cheap',
      'materialized view shop.totals',
      'function shop.touch()',
      'trigger shop.items.items_touch',
    ]));
    expect(keys).toEqual([...keys].sort());
    expect(keys.filter((k) => k.includes('_bellows') || k.includes('bellows_state'))).toEqual([]);
    // The identity column's sequence belongs to the column, not the user's list of sequences.
    expect(keys.filter((k) => k.startsWith('sequence '))).toEqual(['sequence shop.ticket_seq']);
    // Taken again with nothing changed: the same, to the byte.
    expect(JSON.stringify(await snapshot())).toBe(JSON.stringify(before));
  });

  it('holds the attributes that make each object what it is', () => {
    const get = (key: string) => before.objects.find((o) => objectKey(o) === key)!.attributes;
    expect(get('enum shop.mood').values).toEqual(['sad', 'ok']);
    expect(get('sequence shop.ticket_seq')).toMatchObject({ start: '10', increment: '5', type: 'bigint' });
    expect(get('column shop.items.id')).toMatchObject({ identity: 'always', notNull: true, type: 'integer' });
    expect(get('column shop.items.name')).toMatchObject({ collation: 'pg_catalog."C"', default: "'x'::text", notNull: true });
    expect(get('column shop.items.doubled')).toMatchObject({ generated: '(price * (2)::numeric)', default: null });
    expect(get('column shop.items.mood').type).toBe('shop.mood');
    expect(get('constraint shop.items.items_price_check').definition).toBe('CHECK ((price >= (0)::numeric))');
    expect(get('index shop.items_name_idx').definition).toBe('CREATE INDEX items_name_idx ON shop.items USING btree (name)');
    expect(get('view shop.cheap').definition).toContain('FROM shop.items');
    expect(get('function shop.touch()').definition).toContain('RETURN NEW');
    expect(get('trigger shop.items.items_touch')).toMatchObject({ enabled: 'O', definition: expect.stringContaining('EXECUTE FUNCTION shop.touch()') });
    expect(get('table shop.items')).toMatchObject({ comment: 'things for sale', rowSecurity: false });
  });

  it('names every change by object and attribute, with its value before and after', async () => {
    await db.query(`
      ALTER TYPE shop.mood ADD VALUE 'glad';
      ALTER SEQUENCE shop.ticket_seq INCREMENT 7;
      ALTER TABLE shop.items ALTER COLUMN name SET DEFAULT 'y';
      ALTER TABLE shop.items ALTER COLUMN id SET GENERATED BY DEFAULT;
      ALTER TABLE shop.items ALTER COLUMN mood TYPE text;
      ALTER TABLE shop.items DROP CONSTRAINT items_price_check, ADD CONSTRAINT items_price_check CHECK (price > 0) NOT VALID;
      DROP INDEX shop.items_name_idx; CREATE INDEX items_name_idx ON shop.items (lower(name));
      CREATE OR REPLACE VIEW shop.cheap AS SELECT id, name FROM shop.items WHERE price < 20;
      DROP MATERIALIZED VIEW shop.totals; CREATE MATERIALIZED VIEW shop.totals AS SELECT count(*) AS n FROM shop.items WHERE price > 0;
      CREATE OR REPLACE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.name := trim(NEW.name); RETURN NEW; END$$;
      ALTER TABLE shop.items DISABLE TRIGGER items_touch;
      GRANT SELECT ON shop.items TO ${ident(role)};
      COMMENT ON TABLE shop.items IS 'things we sell';
      COMMENT ON SCHEMA shop IS 'the shop';
      ALTER TABLE shop.items ENABLE ROW LEVEL SECURITY;
    `);
    const changes = compareSnapshots(before, await snapshot()).map((d) => (d.change === 'changed' ? `${d.kind} ${d.name}: ${d.attribute}` : `${d.kind} ${d.name}: ${d.change}`));
    expect(changes.sort()).toEqual([
      'column shop.items.id: identity',
      'column shop.items.mood: type',
      'column shop.items.name: default',
      'constraint shop.items.items_price_check: definition',
      'enum shop.mood: values',
      'function shop.touch(): definition',
      'index shop.items_name_idx: definition',
      'materialized view shop.totals: definition',
      'schema shop: comment',
      'sequence shop.ticket_seq: increment',
      'table shop.items: acl',
      'table shop.items: comment',
      'table shop.items: rowSecurity',
      'trigger shop.items.items_touch: enabled',
      'view shop.cheap: definition',
    ]);
    const acl = compareSnapshots(before, await snapshot()).find((d) => d.name === 'shop.items' && d.change === 'changed' && d.attribute === 'acl');
    expect(acl).toMatchObject({ after: expect.arrayContaining([`${role}: SELECT`]) });
  });

  it('a table dropped is one difference, not one per column, index and trigger', async () => {
    const now = await snapshot();
    await db.query(`DROP TABLE shop.items CASCADE`);
    expect(compareSnapshots(now, await snapshot()).map((d) => `${d.kind} ${d.name}: ${d.change}`)).toEqual([
      'materialized view shop.totals: removed',
      'table shop.items: removed',
      'view shop.cheap: removed',
    ]);
  });
});
