import { connect } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { Playbook } from '../playbook/schema.ts';
import { buildCopy, type CopySummary } from './build-copy.ts';
import { embeddedCopy, scratchDatabaseCopy, type CopyDatabase } from './copy-database.ts';
import { runPasses, type PassResult } from './passes.ts';
import { openReadOnlyTarget } from './target.ts';

export interface DryRunRequest {
  targetUrl: string;
  stateSchema: string;
  playbook: Playbook;
  /** The playbook file's directory, where the files it names are. */
  directory: string;
  sampleRows: number;
  copy: 'embedded' | 'scratch-database';
  log: Logger;
  signal: AbortSignal;
  /** Told what is happening, one line at a time. */
  progress: (line: string) => void;
}

export interface DryRunResult {
  copy: string;
  summary: CopySummary;
  passes: PassResult[];
}

/**
 * A dry run owns three things that must go, last made first gone, whatever
 * happens: the target's read-only pool, the copy database, the copy's pool.
 */
export async function dryRun(request: DryRunRequest): Promise<DryRunResult> {
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const target = await openReadOnlyTarget(request.targetUrl);
    cleanups.push(() => target.end());
    request.signal.throwIfAborted();
    const copy: CopyDatabase = request.copy === 'embedded' ? await embeddedCopy() : await scratchDatabaseCopy(request.targetUrl);
    cleanups.push(() => copy.drop());
    request.progress(`copy: ${copy.description}`);
    request.signal.throwIfAborted();
    // Sized like `start`'s pool: the local executor walks ranges in parallel.
    const copyPool = await connect(copy.url, 6 + request.playbook.settings.parallelism);
    cleanups.push(() => copyPool.end());
    const summary = await buildCopy({
      target,
      targetUrl: request.targetUrl,
      copy: copyPool,
      copyUrl: copy.url,
      stateSchema: request.stateSchema,
      sampleRows: request.sampleRows,
      withPrivileges: copy.sameServer,
    });
    request.progress(`copied the schema and ${summary.tables.reduce((n, t) => n + t.copiedRows, 0)} sample rows from ${summary.tables.length} tables`);
    request.signal.throwIfAborted();
    const passes = await runPasses(copyPool, request.playbook, request.directory, request.log, request.signal);
    return { copy: copy.description, summary, passes };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
