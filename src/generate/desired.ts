import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { connect } from '../db/pool.ts';
import { embeddedCopy, scratchDatabaseCopy, type CopyDatabase } from '../dry-run/copy-database.ts';
import { runClientTool } from '../dry-run/client-tools.ts';
import { EnvironmentError, InputError } from '../errors.ts';
import { SNAPSHOT_FORMAT, type SchemaSnapshot } from '../snapshot/format.ts';
import { takeSnapshot } from '../snapshot/take.ts';
import { printableLine } from '../util/printable.ts';

export interface DesiredSource {
  /** A SQL file of CREATE statements, or a snapshot JSON file (`bellows snapshot`). */
  path: string;
  /** Where a SQL file is loaded: an embedded PostgreSQL, or a scratch database on the target's server. */
  copy: 'embedded' | 'scratch-database';
  targetUrl: string;
  stateSchema: string;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read the desired schema (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
}

function snapshotFromJson(text: string, path: string): SchemaSnapshot {
  let document: { format?: unknown; objects?: unknown };
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path}: not valid JSON: ${printableLine((err as Error).message, 120)}`);
  }
  if (document?.format !== SNAPSHOT_FORMAT || !Array.isArray(document.objects)) {
    throw new InputError(`${path}: not a snapshot of format ${SNAPSHOT_FORMAT} (bellows snapshot --output writes one)`);
  }
  return document as SchemaSnapshot;
}

/**
 * The SQL runs in a throw-away database, the dry run's, so the desired schema
 * is whatever PostgreSQL makes of it, normalized by the same snapshot as the
 * live one; the target is not touched. psql is handed the file itself, so its
 * error names the file and the line.
 */
async function snapshotFromSql(source: DesiredSource): Promise<SchemaSnapshot> {
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const copy: CopyDatabase = source.copy === 'embedded' ? await embeddedCopy() : await scratchDatabaseCopy(source.targetUrl);
    cleanups.push(() => copy.drop());
    try {
      await runClientTool('psql', ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--single-transaction', `--file=${resolve(source.path)}`], copy.url);
    } catch (err) {
      if (!(err instanceof EnvironmentError) || !err.message.startsWith('psql failed')) throw err;
      throw new InputError(`${source.path}: the desired schema does not load: ${err.message.replace(/^psql failed: /, '')}`);
    }
    const pool = await connect(copy.url, 2);
    cleanups.push(() => pool.end());
    return await takeSnapshot(pool, { excludeSchemas: [source.stateSchema] });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/** The schema the generated playbook must reach. */
export async function desiredSnapshot(source: DesiredSource): Promise<SchemaSnapshot> {
  const text = await readText(source.path);
  return extname(source.path).toLowerCase() === '.json' ? snapshotFromJson(text, source.path) : snapshotFromSql(source);
}
