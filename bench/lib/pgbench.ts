import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { PGBENCH } from './bench-db.ts';
import { start } from './proc.ts';

/** One transaction from pgbench's per-transaction log. */
export interface Txn {
  /** Completion time, epoch milliseconds. */
  endMs: number;
  /** Latency in ms, or null for a failed transaction. */
  latencyMs: number | null;
}

export interface LoadRun {
  /** When the first transaction began and the last one ended (pgbench's connection setup excluded). */
  startedAtMs: number;
  endedAtMs: number;
  txns: Txn[];
  /** From pgbench's summary. */
  reportedTps: number | null;
  reportedFailed: number;
  /** Clients pgbench aborted on an error it does not retry (each such error stops a client for the rest of the run). */
  abortedClients: number;
  exitCode: number | null;
}

export interface LoadStats {
  windowSec: number;
  txns: number;
  tps: number;
  avgMs: number;
  p99Ms: number;
  failed: number;
}

export const LOAD_ARGS = ['-N', '-c', '4', '-j', '2'];

/** The tables as a load run should find them: vacuumed, history empty, everything on disk. */
export async function prepareForLoad(db: pg.Pool): Promise<void> {
  await db.query('VACUUM ANALYZE pgbench_accounts, pgbench_branches, pgbench_tellers');
  await db.query('TRUNCATE pgbench_history');
  await db.query('CHECKPOINT').catch(() => {});
}

/**
 * `pgbench -N -c 4 -j 2 -T <seconds>` with per-transaction logs, so latency
 * percentiles come from every transaction rather than pgbench's own averages,
 * and any time window (the part that overlapped a backfill) can be cut out.
 */
export async function runLoad(url: string, seconds: number): Promise<LoadRun> {
  const dir = await mkdtemp(join(tmpdir(), 'bellows-bench-pgbench-'));
  try {
    // -n: no vacuum inside pgbench (prepareForLoad did it), the same for every run.
    const child = start(PGBENCH, [...LOAD_ARGS, '-n', '-T', String(seconds), '--log', `--log-prefix=${join(dir, 'tx')}`, url]);
    const { code } = await child.exited;
    const out = child.output();
    const txns: Txn[] = [];
    for (const file of await readdir(dir)) {
      for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
        // client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
        const f = line.trim().split(/\s+/);
        if (f.length < 6) continue;
        const endMs = Number(f[4]) * 1000 + Number(f[5]) / 1000;
        const latency = Number(f[2]);
        txns.push({ endMs, latencyMs: Number.isFinite(latency) ? latency / 1000 : null });
      }
    }
    txns.sort((a, b) => a.endMs - b.endMs);
    if (!txns.length) throw new Error(`pgbench completed no transaction: ${out.trim().split('\n').slice(-3).join(' / ')}`);
    // A reduce, not Math.min(...): a minute of pgbench is more transactions than the call stack holds.
    const startedAtMs = txns.reduce((min, t) => Math.min(min, t.endMs - (t.latencyMs ?? 0)), Infinity);
    const endedAtMs = txns.at(-1)!.endMs;
    const tps = out.match(/^tps = ([\d.]+) \(without initial connection time\)/m);
    const failed = out.match(/^number of failed transactions: (\d+)/m);
    const aborted = out.match(/client \d+ aborted/g);
    return {
      startedAtMs,
      endedAtMs,
      txns,
      reportedTps: tps ? Number(tps[1]) : null,
      reportedFailed: failed ? Number(failed[1]) : 0,
      abortedClients: aborted?.length ?? 0,
      exitCode: code,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** TPS and latency of the transactions that completed inside [fromMs, toMs] (default: the whole run). */
export function loadStats(load: LoadRun, fromMs?: number, toMs?: number): LoadStats {
  const from = fromMs ?? load.startedAtMs;
  const to = toMs ?? load.endedAtMs;
  return statsOf(load.txns.filter((t) => t.endMs >= from && t.endMs <= to), to - from, 0);
}

/** One set of figures from several runs of the same condition: their windows and transactions pooled. */
export function pooledStats(runs: LoadRun[]): LoadStats {
  const windowMs = runs.reduce((ms, r) => ms + (r.endedAtMs - r.startedAtMs), 0);
  const reportedFailed = runs.reduce((n, r) => n + r.reportedFailed, 0);
  return statsOf(runs.flatMap((r) => r.txns), windowMs, reportedFailed);
}

function statsOf(txns: Txn[], windowMs: number, reportedFailed: number): LoadStats {
  const ok = txns.map((t) => t.latencyMs).filter((l): l is number => l !== null).sort((a, b) => a - b);
  const windowSec = Math.max(windowMs / 1000, 1e-3);
  return {
    windowSec,
    txns: ok.length,
    tps: ok.length / windowSec,
    avgMs: ok.length ? ok.reduce((s, l) => s + l, 0) / ok.length : NaN,
    p99Ms: percentile(ok, 0.99),
    failed: Math.max(txns.length - ok.length, reportedFailed),
  };
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
