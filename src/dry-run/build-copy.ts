import type pg from 'pg';
import { qualified } from '../db/sql.ts';
import { foreignKeys, removeOrphans } from './foreign-keys.ts';
import { copySampleRows, tableName } from './sample-rows.ts';
import { dumpSchema, restoreSchema } from './schema-copy.ts';
import { sequenceValues, userTables } from './target.ts';

export interface CopiedTable {
  /** schema.name */
  table: string;
  /** The target's estimate (pg_class.reltuples), what times are extrapolated to. */
  targetRows: number;
  /** Rows on the copy. */
  copiedRows: number;
}

export interface CopySummary {
  tables: CopiedTable[];
  /** Sampled rows deleted because their foreign key's parent row was not sampled. */
  orphansRemoved: number;
}

export interface BuildCopyRequest {
  target: pg.Pool;
  targetUrl: string;
  copy: pg.Pool;
  copyUrl: string;
  stateSchema: string;
  sampleRows: number;
  withPrivileges: boolean;
}

/** Fills an empty copy database with the target's schema and a sample of its rows. */
export async function buildCopy(request: BuildCopyRequest): Promise<CopySummary> {
  const { target, copy, stateSchema } = request;
  const dumpOptions = { stateSchema, withPrivileges: request.withPrivileges };
  // Both halves are dumped before anything is restored: one look at the target's schema.
  const [pre, post] = await Promise.all([dumpSchema(request.targetUrl, 'pre-data', dumpOptions), dumpSchema(request.targetUrl, 'post-data', dumpOptions)]);
  await restoreSchema(request.copyUrl, pre);
  const tables = await userTables(target, stateSchema);
  const keys = await foreignKeys(target, stateSchema);
  await copySampleRows(target, copy, tables, request.sampleRows, new Set(keys.map((k) => tableName(k.parent))));
  const orphansRemoved = await removeOrphans(copy, keys);
  for (const s of await sequenceValues(target, stateSchema)) {
    await copy.query(`SELECT setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint)`, [s.schema, s.name, s.lastValue]);
  }
  await restoreSchema(request.copyUrl, post);
  const copied: CopiedTable[] = [];
  for (const t of tables) {
    // The backfill sizes its ranges from the planner's estimates: the copy's must be its own.
    await copy.query(`ANALYZE ${qualified(t)}`);
    const { rows } = await copy.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(t)}`);
    // A table never analyzed has no estimate (-1); one read whole is at least what was copied.
    copied.push({ table: tableName(t), targetRows: Math.max(t.estimatedRows, rows[0].n), copiedRows: rows[0].n });
  }
  return { tables: copied, orphansRemoved };
}
