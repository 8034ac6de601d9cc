import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { inTransaction } from '../../db/pool.ts';
import { InputError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import { convertMigrations, type ConvertedPlaybook } from './convert.ts';
import { readAppliedMigrations, recordApplied, requireHistoryAgrees, requireSameAsApplied } from './history.ts';
import { readPgrollMigrations } from './read.ts';
import { PGROLL_DEFAULT_SCHEMA } from './schema.ts';

export interface ImportOptions {
  /** A pgroll migration file, or a directory of them. */
  path: string;
  outDir: string;
  /** The schema the migrations are relative to (pgroll's --schema): their table names are qualified with it. */
  schema?: string;
  /** With `--history`: pgroll's record of applied migrations goes into bellows' history. */
  history?: { pool: pg.Pool; store: StateStore; pgrollSchema: string };
}

export interface ImportResult {
  written: Array<{ file: string; from: string }>;
  recorded: string[];
}

function refuseDuplicateNames(converted: ConvertedPlaybook[]): void {
  const seen = new Map<string, string>();
  for (const c of converted) {
    const other = seen.get(c.playbook.name);
    if (other) throw new InputError(`import: ${c.source}: its playbook name ${c.playbook.name} is also ${other}'s`);
    seen.set(c.playbook.name, c.source);
  }
}

/** A file already there is left alone if it says the same; anything else there is refused, never overwritten. */
async function plannedFiles(converted: ConvertedPlaybook[], outDir: string): Promise<Array<{ file: string; text: string; from: string }>> {
  const files = [];
  for (const c of converted) {
    const file = join(outDir, `${c.playbook.name}.yaml`);
    const existing = await readFile(file, 'utf8').catch(() => null);
    if (existing !== null && existing !== c.text) throw new InputError(`import: ${file} exists with other content`);
    files.push({ file, text: c.text, from: c.source });
  }
  return files;
}

async function prepare(options: ImportOptions) {
  const schema = options.schema ?? PGROLL_DEFAULT_SCHEMA;
  const converted = await convertMigrations(await readPgrollMigrations(options.path), schema);
  refuseDuplicateNames(converted);
  const files = await plannedFiles(converted, options.outDir);
  const history = options.history;
  const applied = history ? await readAppliedMigrations(history.pool, history.pgrollSchema, schema) : [];
  requireSameAsApplied(converted, applied);
  if (history) await requireHistoryAgrees(history.store, applied);
  return { files, applied };
}

/**
 * All or nothing: every migration is converted and checked before anything is
 * written, so one that cannot be converted leaves no playbook and no history
 * behind. With history, the files are written inside its transaction.
 */
export async function importPgroll(options: ImportOptions): Promise<ImportResult> {
  let prepared;
  try {
    prepared = await prepare(options);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${err.message}; nothing was written`);
    throw err;
  }
  const { files, applied } = prepared;
  const writeAll = async () => {
    await mkdir(options.outDir, { recursive: true });
    for (const f of files) await writeFile(f.file, f.text);
  };
  const history = options.history;
  if (!history) {
    await writeAll();
    return { written: files.map(({ file, from }) => ({ file, from })), recorded: [] };
  }
  const recorded = await inTransaction(history.pool, async (client) => {
    const names = await recordApplied(history.store, client, applied);
    await writeAll();
    return names;
  });
  return { written: files.map(({ file, from }) => ({ file, from })), recorded };
}
