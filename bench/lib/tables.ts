import type { PhysicalResult } from '../sections/physical.ts';
import type { BackfillResult } from '../sections/throughput.ts';
import type { LoadResult } from '../sections/load.ts';
import type { KillResult, PauseResult } from '../sections/resume.ts';
import { mib, millis, num, ratio, seconds, verdict, type Cell, type Table } from './report.ts';

export interface ScaleResults {
  scale: number;
  rows: number;
  single?: PhysicalResult;
  loop?: PhysicalResult;
  bellows: Map<number, BackfillResult>;
  pgroll?: { rows: number; ms: number; rowsPerSec: number };
}

/** Rates within 10% of each other count as flat as the table grows. */
const FLAT_RATE = 0.9;
/** Peak RSS within 25% across scales counts as flat. */
const FLAT_RSS = 1.25;

export function physicalTable(results: ScaleResults[]): Table {
  return {
    title: '1. Physical limit (dual-write trigger in place, bellows.backfill = on)',
    headers: ['rows', 'single UPDATE', 'rows/s', 'keyset loop (COMMIT/10k)', 'rows/s', 'loop ÷ single'],
    rows: results.map((r) => [
      num(r.rows),
      seconds(r.single?.ms),
      num(r.single?.rowsPerSec),
      seconds(r.loop?.ms),
      num(r.loop?.rowsPerSec),
      ratio(r.loop && r.single ? r.loop.rowsPerSec / r.single.rowsPerSec : null),
    ]),
    notes: ['each on a fresh copy of the pgbench tables, after bellows’ own expand and dual-write steps; time includes COMMIT'],
  };
}

function target(p: number): { text: string; ok: (x: number) => boolean } {
  return p === 1 ? { text: '≥ 0.80', ok: (x) => x >= 0.8 } : { text: '> 1.00', ok: (x) => x > 1.0 };
}

export function throughputTables(results: ScaleResults[], parallelisms: number[]): Table[] {
  const rows: Cell[][] = [];
  for (const r of results) {
    for (const p of parallelisms) {
      const b = r.bellows.get(p);
      const x = b && r.single ? b.rowsPerSec / r.single.rowsPerSec : null;
      const t = target(p);
      rows.push([num(r.rows), p, seconds(b?.ms), num(b?.rowsPerSec), b ? `${b.ranges}/${b.batches}` : '–', ratio(x), t.text, verdict(x === null ? null : t.ok(x))]);
    }
    if (r.pgroll) {
      rows.push([num(r.rows), 'pgroll', seconds(r.pgroll.ms), num(r.pgroll.rowsPerSec), '–', ratio(r.single ? r.pgroll.rowsPerSec / r.single.rowsPerSec : null), '', '']);
    }
  }
  const tables: Table[] = [
    {
      title: '2. bellows backfill, unthrottled (maxRowsPerSec 0, batchTimeMs 200)',
      headers: ['rows', 'parallelism', 'backfill time', 'rows/s', 'ranges/batches', '÷ single UPDATE', 'target', ''],
      rows,
      notes: [
        'time: the run’s backfill_started_at → backfill_done_at in the state store; rows: the sum of the ranges’ checkpoints',
        '`bellows start` as a subprocess (src/cli/bin.mjs), each on a fresh copy of the tables',
        ...(results.some((r) => r.pgroll) ? ['pgroll: rows ÷ wall time of `pgroll start` (includes its DDL)'] : []),
      ],
    },
  ];
  if (results.length > 1) {
    const first = results[0];
    const last = results.at(-1)!;
    const grow = (a?: number, b?: number) => (a && b ? b / a : null);
    const line = (label: string, a?: number, b?: number): Cell[] => {
      const g = grow(a, b);
      return [label, num(a), num(b), ratio(g), `≥ ${FLAT_RATE.toFixed(2)}`, verdict(g === null ? null : g >= FLAT_RATE)];
    };
    tables.push({
      title: `2b. Does the rate fall as the table grows? (${num(last.rows)} ÷ ${num(first.rows)} rows)`,
      headers: ['', `rows/s at ${num(first.rows)}`, `rows/s at ${num(last.rows)}`, 'ratio', 'target', ''],
      rows: [
        line('single UPDATE', first.single?.rowsPerSec, last.single?.rowsPerSec),
        ...parallelisms.map((p) => line(`bellows, parallelism ${p}`, first.bellows.get(p)?.rowsPerSec, last.bellows.get(p)?.rowsPerSec)),
        ...(first.pgroll || last.pgroll ? [line('pgroll', first.pgroll?.rowsPerSec, last.pgroll?.rowsPerSec)] : []),
      ],
    });
  }
  return tables;
}

export function memoryTable(results: ScaleResults[], parallelisms: number[]): Table {
  const rows: Cell[][] = results.map((r) => [num(r.rows), ...parallelisms.map((p) => mib(r.bellows.get(p)?.peakRssKb))]);
  const notes = ['VmHWM of the `bellows start` process from /proc/<pid>/status, sampled every 100 ms until it exits'];
  if (results.length > 1) {
    const first = results[0];
    const last = results.at(-1)!;
    const growth = parallelisms.map((p) => {
      const a = first.bellows.get(p)?.peakRssKb;
      const b = last.bellows.get(p)?.peakRssKb;
      return a && b ? b / a : null;
    });
    rows.push([`ratio ${num(last.rows)} ÷ ${num(first.rows)}`, ...growth.map(ratio)]);
    rows.push([`target ≤ ${FLAT_RSS} (flat)`, ...growth.map((g) => verdict(g === null ? null : g <= FLAT_RSS))]);
  }
  return { title: '5. Peak memory (RSS) of bellows start', headers: ['rows', ...parallelisms.map((p) => `parallelism ${p}`)], rows, notes };
}

export function loadTable(l: LoadResult, seconds_: number): Table {
  const base = l.baseline;
  const row = (label: string, s: LoadResult['baseline'] | LoadResult['backfillRun'], targets: string, ok: boolean | null): Cell[] => [
    label,
    `${s.windowSec.toFixed(1)} s`,
    num(s.tps, 1),
    ratio(s.tps / base.tps),
    millis(s.avgMs, 2),
    millis(s.p99Ms, 2),
    ratio(s.p99Ms / base.p99Ms),
    'aborted' in s ? `${s.failed}${s.aborted ? ` (+${s.aborted} clients aborted)` : ''}` : s.failed,
    targets,
    verdict(ok),
  ];
  const d = l.duringBackfill;
  const dualOk = l.dualWrite.tps >= 0.9 * base.tps;
  const backfillOk = d.tps >= 0.9 * base.tps && d.p99Ms <= 2 * base.p99Ms && d.failed === 0 && d.aborted === 0;
  return {
    title: `3. Foreground load: pgbench -N -c 4 -j 2 -T ${seconds_}`,
    headers: ['', 'window', 'TPS', '÷ base', 'avg latency', 'p99 latency', 'p99 ÷ base', 'failed', 'target', ''],
    rows: [
      row('baseline (bellows trigger disabled)', base, '0 failed', base.failed === 0 && base.aborted === 0),
      row('dual-write triggers, no backfill', l.dualWrite, 'TPS ≥ 0.90', dualOk),
      row('during bellows backfill (defaults)', d, 'TPS ≥ 0.90, p99 ≤ 2×, 0 failed', backfillOk),
      row('  whole pgbench run of the above (backfill, then verify)', l.backfillRun, '', null),
    ],
    notes: [
      'TPS, average and p99 from pgbench’s per-transaction logs (--log), successful transactions only; failed = failed transactions (log and summary)',
      `the backfill took ${seconds(l.backfillMs)}; it ran during ${(l.coverage * 100).toFixed(0)}% of the pgbench window, and only the transactions that completed while it ran are counted in “during”; after it, bellows went on into verify (the whole-run row)`,
      'windows run from the first transaction’s start to the last one’s end (pgbench’s connection setup excluded)',
      'baseline and dual-write alternate in three rounds on one database (the trigger disabled, then enabled), so neither gets the fresher table',
    ],
  };
}

export function pauseTables(pause: PauseResult | null, kill: KillResult | null): Table[] {
  const tables: Table[] = [];
  if (pause) {
    const ok = pause.maxBatchesAfterPerRange <= 1 && pause.begunAfter === 0 && pause.toLastCommitMs <= pause.inFlightMs + pause.requestBracketMs;
    tables.push({
      title: `4a. Pause (parallelism ${pause.parallelism}, ${pause.ranges} ranges)`,
      headers: ['measure', 'value', 'target', ''],
      rows: [
        ['batch duration before the pause (median / max)', `${millis(pause.medianBatchMs, 0)} / ${millis(pause.maxBatchMs, 0)}`, '', ''],
        ['pause request → last batch committed', millis(pause.toLastCommitMs, 0), `≤ the batch in flight (${millis(pause.inFlightMs, 0)})`, verdict(pause.toLastCommitMs <= pause.inFlightMs + pause.requestBracketMs)],
        ['batches committed after the request, most in one range', pause.maxBatchesAfterPerRange, '≤ 1', verdict(pause.maxBatchesAfterPerRange <= 1)],
        ['batches begun after the request committed', pause.begunAfter, '0', verdict(pause.begunAfter === 0)],
        ['rows committed after the request', num(pause.rowsAfter), '', ''],
        ['pause request → run status paused', millis(pause.toPausedMs, 0), '', ''],
        ['resume request → first batch committed', millis(pause.resumeToFirstCommitMs, 0), '', ''],
        ['within one batch', '', '', verdict(ok)],
      ],
      notes: [
        'pause written through the state store (StateStore.setDesired, what `bellows pause` does); times are the database clock',
        `batch start/commit times from a trigger on bellows.ranges in the bench database (the checkpoint is each batch’s last statement); the request’s commit lies within ${millis(pause.requestBracketMs, 1)} after “request”`,
      ],
    });
  }
  if (kill) {
    tables.push({
      title: `4b. kill -9 mid-backfill, then bellows start again (parallelism ${kill.parallelism})`,
      headers: ['measure', 'rows', 'target', ''],
      rows: [
        ['table', num(kill.tableRows), '', ''],
        ['committed by the killed process (checkpoints at kill)', num(kill.committedAtKill), '', ''],
        ['committed by the resumed process', num(kill.resumedRows), '', ''],
        ['committed twice (killed + resumed − table)', num(kill.committedTwice), '0', verdict(kill.committedTwice === 0)],
        ['updated in flight at the kill, rolled back (n_tup_upd − committed)', num(kill.lostInFlight), '', ''],
        ['redone in total (n_tup_upd − table)', num(kill.redone), `≤ ${num(kill.oneBatchPerRange)} (one batch × ${kill.unfinishedRanges} ranges)`, verdict(kill.redone <= kill.oneBatchPerRange)],
        ['rows without the new value afterwards', num(kill.missed), '0', verdict(kill.missed === 0)],
      ],
      notes: [
        'n_tup_upd (pg_stat_user_tables) counts every row update the server executed, including rolled-back ones; read after all bellows sessions ended',
        'one batch: 1.5 × each unfinished range’s last committed batch size (the most the next batch may grow)',
      ],
    });
  }
  return tables;
}
