import { Option, type Command } from 'commander';
import { redactUrl } from '../db/redact.ts';
import { isPostgresUrl } from '../db/url-password.ts';
import { InputError } from '../errors.ts';
import { shown } from '../util/printable.ts';
import type { Tuning } from '../state/types.ts';

/** Flags that override a playbook's backfill settings: on `start` for one run, on `tune` while it runs. */
export function addSettingsFlags(command: Command): Command {
  return command
    .addOption(new Option('--batch-time <ms>', 'target duration of one batch').argParser(positiveInt('--batch-time')))
    .addOption(new Option('--batch-size <rows>', 'rows in the next batch').argParser(positiveInt('--batch-size')))
    .addOption(new Option('--min-batch-size <rows>', 'smallest batch').argParser(positiveInt('--min-batch-size')))
    .addOption(new Option('--max-batch-size <rows>', 'largest batch').argParser(positiveInt('--max-batch-size')))
    .addOption(new Option('--max-rows-per-sec <n>', 'backfill rate cap across all ranges (0 = none)').argParser(nonNegative('--max-rows-per-sec')))
    .addOption(new Option('--parallelism <n>', 'key ranges backfilled at once').argParser(positiveInt('--parallelism')))
    .addOption(new Option('--throttle-query <sql>', 'one read-only statement returning one boolean; true makes the backfill wait'))
    .addOption(new Option('--max-lock-waiters <n>', 'wait while more sessions than this wait on the table’s locks').argParser(nonNegative('--max-lock-waiters')))
    .addOption(new Option('--replica-url <url>', 'a replica whose lag throttles the backfill (repeatable; default: pg_stat_replication)').argParser(collectUrls('--replica-url')))
    .addOption(new Option('--max-replica-lag <ms>', 'wait while a replica replays more than this far behind').argParser(nonNegative('--max-replica-lag')))
    .addOption(new Option('--max-replica-lag-bytes <n>', 'wait while a replica is more than this many WAL bytes behind').argParser(nonNegative('--max-replica-lag-bytes')))
    .addOption(new Option('--max-wal-rate <bytes>', 'wait while the database writes more WAL per second than this').argParser(nonNegative('--max-wal-rate')))
    .addOption(new Option('--load-yield <n>', 'rest n batch-times per busy application session after each batch (0 = full speed always)').argParser(nonNegative('--load-yield')))
    .addOption(new Option('--repair', 'verify re-applies up to wrong rows (a few rounds) instead of only reporting them'));
}

function collectUrls(flag: string) {
  return (value: string, previous: string[] | undefined): string[] => {
    if (!isPostgresUrl(value)) throw new InputError(`${flag}: expected a postgres:// URL, got ${shown(redactUrl(value))}`);
    return [...(previous ?? []), value];
  };
}

export function tuningFrom(options: Record<string, unknown>): Tuning {
  const tuning: Tuning = {
    batchTimeMs: options.batchTime as number | undefined,
    batchSize: options.batchSize as number | undefined,
    minBatchSize: options.minBatchSize as number | undefined,
    maxBatchSize: options.maxBatchSize as number | undefined,
    maxRowsPerSec: options.maxRowsPerSec as number | undefined,
    parallelism: options.parallelism as number | undefined,
    throttleQuery: options.throttleQuery as string | undefined,
    maxLockWaiters: options.maxLockWaiters as number | undefined,
    replicaUrls: options.replicaUrl as string[] | undefined,
    maxReplicaLagMs: options.maxReplicaLag as number | undefined,
    maxReplicaLagBytes: options.maxReplicaLagBytes as number | undefined,
    maxWalBytesPerSec: options.maxWalRate as number | undefined,
    repair: options.repair as boolean | undefined,
    loadYield: options.loadYield as number | undefined,
  };
  return Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined)) as Tuning;
}

function positiveInt(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag}: expected a whole number of at least 1, got "${value}"`);
    return n;
  };
}

function nonNegative(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InputError(`${flag}: expected a number of at least 0, got "${value}"`);
    return n;
  };
}
