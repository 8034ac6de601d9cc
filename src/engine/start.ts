import type pg from 'pg';
import { InputError } from '../errors.ts';
import { checkThrottleSettings } from '../backfill/throttles/index.ts';
import { parseSettings, playbookChecksum } from '../playbook/load.ts';
import type { Playbook, Settings } from '../playbook/schema.ts';
import { operationEntries } from '../playbook/schema.ts';
import { OPERATIONS } from '../operations/index.ts';
import { isTableOperation, type Operation, type SchemaOperation } from '../operations/operation.ts';
import { parseTableRef, tableKey } from '../db/sql.ts';
import type { StateStore } from '../state/store.ts';
import type { RunRecord, Tuning } from '../state/types.ts';
import { compilePlan } from './compile.ts';
import { checkTuning } from './tuning.ts';
import { createRunWithSeeds } from './stage-seeds.ts';
import { fileDigest, seedFilePath } from '../operations/seed-file.ts';

export interface StartRequest {
  playbook: Playbook;
  /** Where the run's steps run; unset, the unfinished run's own executor, or local for a new run. */
  executor?: string;
  /** Throws unless `executor` can take a run now; asked before a new run is created, so a refusal leaves nothing behind. */
  ready?: (executor: string) => Promise<void>;
  /** `start` flags that override the playbook's settings for this run. */
  overrides?: Partial<Settings>;
  /** The directory of the playbook's file, where the files it names are (a seed's rows); unset for a playbook given as a document. */
  directory?: string;
}

/**
 * Finds or creates the run of a playbook. Starting a playbook whose run is
 * unfinished attaches to that run, so `start` after a crash is the same as
 * `resume`. A new run is only created after the playbook has been checked
 * against the live schema: bad input never leaves DDL behind.
 */
export async function openRun(db: pg.Pool, store: StateStore, request: StartRequest): Promise<{ run: RunRecord; attached: boolean }> {
  await store.migrate();
  const directory = request.directory ?? null;
  const checksum = playbookChecksum(request.playbook, await playbookFileDigests(request.playbook, directory));
  const active = await store.activeRunOf(request.playbook.name);
  if (active) {
    if (active.checksum !== checksum) {
      throw new InputError(
        `playbook ${request.playbook.name} changed since run ${active.id} started; finish or roll back that run before changing it`,
      );
    }
    if (request.executor && request.executor !== active.executor) {
      // Attaching must not quietly drive the run elsewhere, nor quietly ignore the flag: moving is its own command.
      throw new InputError(
        `run ${active.id} of ${active.playbookName} runs on executor ${active.executor}, not ${request.executor}; continue it there with --executor ${active.executor}, or move it: bellows resume ${active.id} --executor ${request.executor}`,
      );
    }
    // Flags given on the `start` that attaches apply as a live tune, not silently dropped.
    const tuning = stripUndefined(request.overrides ?? {}) as Tuning;
    await checkTuning(db, active, tuning);
    const run = Object.keys(tuning).length ? await store.setDesired(active.id, { tuning }, 'tune', { via: 'start' }) : active;
    return { run, attached: true };
  }
  // Before the catalog check: an applied playbook no longer fits the schema it
  // changed, and "column does not exist" would hide the real reason.
  await store.refuseApplied(request.playbook.name, checksum);
  // Also before it: another run's half-done objects (shadow columns, version views)
  // would otherwise surface as confusing catalog errors. createRun checks again under its lock.
  await store.refuseBusyTables(playbookTables(request.playbook));
  const settings = parseSettings({ ...request.playbook.settings, ...stripUndefined(request.overrides ?? {}) });
  const plan = await compilePlan(db, request.playbook, store.schemaName, directory);
  await checkThrottleSettings(db, settings);
  const executor = request.executor ?? 'local';
  await request.ready?.(executor);
  const run = await createRunWithSeeds(db, store, request.playbook.name, plan, () => store.createRun({ playbook: request.playbook, checksum, plan, executor, settings }));
  // Notes an earlier, rolled-back run of this playbook left are not this run's.
  await store.clearDualWriteFailures(request.playbook.name);
  return { run, attached: false };
}

/** The SHA-256 of each file the playbook's operations read, by the name the playbook gives it. */
async function playbookFileDigests(playbook: Playbook, directory: string | null): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const e of operationEntries(playbook)) {
    const op = OPERATIONS[e.kind] as Operation | SchemaOperation;
    if (!isTableOperation(op, e.spec)) continue;
    for (const file of op.files?.(e.spec) ?? []) {
      digests[file] ??= await fileDigest(await seedFilePath(directory, file, `operations[${e.index}].${e.kind}.file`));
    }
  }
  return digests;
}

function playbookTables(playbook: Playbook): string[] {
  return operationEntries(playbook).flatMap((e) => {
    const op = OPERATIONS[e.kind] as Operation | SchemaOperation;
    return isTableOperation(op, e.spec) ? [tableKey(parseTableRef(op.touches(e.spec).table))] : (op.touches(e.spec).claims ?? []);
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
