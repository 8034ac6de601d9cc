import type pg from 'pg';
import { ident } from '../../db/sql.ts';
import { InputError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import { shown } from '../../util/printable.ts';
import { convertMigrations, type ConvertedPlaybook, type PgrollSource } from './convert.ts';
import { PGROLL_DEFAULT_SCHEMA } from './schema.ts';

export interface AppliedPlaybook extends ConvertedPlaybook {
  appliedAt: Date;
}

interface MigrationRow {
  name: string;
  migration: unknown;
  created_at: Date;
  schema: string | null;
  migration_type: string | null;
}

/**
 * The migrations pgroll completed, oldest first, as pgroll records them in its
 * `migrations` table, of the schema the import is of. Rows pgroll inferred from
 * DDL run outside it, and baselines, are no migration of the user's: they are left out.
 */
async function completedMigrations(db: pg.Pool, pgrollSchema: string, schema: string): Promise<MigrationRow[]> {
  const { rows: found } = await db.query(`SELECT to_regclass(format('%I.migrations', $1::text)) IS NOT NULL AS present`, [pgrollSchema]);
  if (!found[0].present) throw new InputError(`import: --history: no ${pgrollSchema}.migrations table in this database: pgroll has not been used here`);
  // to_jsonb(m): the columns older pgroll versions lack read as NULL instead of failing.
  const { rows } = await db.query<MigrationRow>(
    `SELECT m.name, m.migration, m.created_at, to_jsonb(m) ->> 'schema' AS schema, to_jsonb(m) ->> 'migration_type' AS migration_type
       FROM ${ident(pgrollSchema)}.migrations m
      WHERE m.done
      ORDER BY m.created_at, m.name`,
  );
  // pgroll keeps one history per schema; this import is of one (older pgroll versions record none: theirs is public, pgroll's default).
  return rows.filter((r) => (r.migration_type === null || r.migration_type === 'pgroll') && (r.schema ?? PGROLL_DEFAULT_SCHEMA) === schema);
}

/** pgroll's applied migrations, converted exactly as files would be, so their checksums match the files'. */
export async function readAppliedMigrations(db: pg.Pool, pgrollSchema: string, schema: string): Promise<AppliedPlaybook[]> {
  const rows = await completedMigrations(db, pgrollSchema, schema);
  const sources: PgrollSource[] = rows.map((r) => ({ source: `${pgrollSchema}.migrations ${shown(r.name)}`, defaultName: r.name, document: r.migration }));
  return (await convertMigrations(sources, schema)).map((c, i) => ({ ...c, appliedAt: rows[i].created_at }));
}

/** A file and pgroll's record of the same migration must agree, or `bellows start` would call the file changed. */
export function requireSameAsApplied(files: ConvertedPlaybook[], applied: AppliedPlaybook[]): void {
  const byName = new Map(applied.map((a) => [a.playbook.name, a]));
  for (const file of files) {
    const record = byName.get(file.playbook.name);
    if (record && record.checksum !== file.checksum) {
      throw new InputError(`import: ${file.source}: differs from the migration pgroll applied as ${shown(file.pgrollName)} (${record.source})`);
    }
  }
}

/** An earlier import (or a run) under the same name must have recorded the same playbook. */
export async function requireHistoryAgrees(store: StateStore, applied: AppliedPlaybook[]): Promise<void> {
  for (const a of applied) {
    const existing = await store.appliedPlaybook(a.playbook.name);
    if (existing && existing.checksum !== a.checksum) {
      throw new InputError(`import: --history: playbook ${a.playbook.name} is in bellows' history already, with a different checksum`);
    }
  }
}

/** Into bellows' history, in the caller's transaction, skipping what is there already. Returns the names recorded now. */
export async function recordApplied(store: StateStore, db: pg.ClientBase, applied: AppliedPlaybook[]): Promise<string[]> {
  const recorded: string[] = [];
  for (const a of applied) {
    if (await store.appliedPlaybook(a.playbook.name, db)) continue;
    await store.recordImported(db, { playbookName: a.playbook.name, checksum: a.checksum, appliedAt: a.appliedAt });
    recorded.push(a.playbook.name);
  }
  return recorded;
}
