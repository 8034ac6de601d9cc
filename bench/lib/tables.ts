import type { PhysicalResult } from '../sections/physical.ts';
import type { BackfillResult } from '../sections/throughput.ts';
import { PGROLL_DEFAULT_BATCH_SIZE, type PgrollResult } from '../sections/pgroll.ts';
import type { LoadResult } from '../sections/load.ts';
import type { KillResult, PauseResult } from '../sections/resume.ts';
import { mib, millis, num, ratio, seconds, verdict, type Cell, type Table } from './report.ts';

export interface ScaleResults {
  scale: number;
  rows: number;
  /** The physical limit: the bare UPDATE (shadow column, no trigger). Every throughput ratio is against it. */
  bare?: PhysicalResult;
  /** The same UPDATE with the dual-write trigger in place (a reference). */
  triggered?: PhysicalResult;
  loop?: PhysicalResult;
  bellows: Map<number, BackfillResult>;
  /** By parallelism: each round's bellows rate ÷ the same round's bare UPDATE, in round order (the spread behind the medians). */
  roundRatios: Map<number, number[]>;
  /** Each round's UPDATE with the trigger ÷ the same round's bare UPDATE, in round order. */
  triggeredRatios: number[];
  pgroll: PgrollResult[];
  /** The skewed composite key table: its own bare UPDATE, and bellows' backfill by parallelism. */
  skewedBare?: PhysicalResult;
  skewed: Map<number, BackfillResult>;
  /** The BullMQ executor (one worker) at BULLMQ_PARALLELISM, against the local executor at the same parallelism. */
  bullmq?: BackfillResult;
}

/** Parallelism of the BullMQ row: one worker process with this concurrency, as the local executor is one process. */
export const BULLMQ_PARALLELISM = 2;

/** Rates within 10% of each other count as flat as the table grows. */
const FLAT_RATE = 0.9;
/** Peak RSS within 25% across scales counts as flat. */
const FLAT_RSS = 1.25;
/** The skewed-key backfill against the int-key one at the same size and parallelism. */
const SKEWED_TARGET = 0.5;
/** The BullMQ executor against the local one at the same parallelism: the queue may cost at most 10%. */
const BULLMQ_TARGET = 0.9;

const per = (a: { rowsPerSec: number } | undefined, b: { rowsPerSec: number } | undefined) => (a && b ? a.rowsPerSec / b.rowsPerSec : null);
const atLeast = (x: number | null, min: number) => verdict(x === null ? null : x >= min);

export function physicalTable(results: ScaleResults[]): Table {
  const rows: Cell[][] = [];
  for (const r of results) {
    const walPerRow = (m: PhysicalResult | undefined) => (m?.walBytes !== undefined && m.rows ? `${num(m.walBytes / m.rows)} B` : '–');
    const line = (label: string, m: PhysicalResult | undefined): Cell[] => [num(r.rows), label, seconds(m?.ms), num(m?.rowsPerSec), ratio(per(m, r.bare)), walPerRow(m)];
    rows.push(line('bare UPDATE: the physical limit', r.bare));
    rows.push(line('UPDATE with the dual-write trigger in place', r.triggered));
    rows.push(line('keyset loop in PL/pgSQL, COMMIT every 10k (trigger in place)', r.loop));
  }
  return {
    title: '1. Physical limit: one bare UPDATE of the whole table',
    headers: ['rows', 'statement', 'time', 'rows/s', '÷ bare UPDATE', 'WAL a row'],
    rows,
    notes: [
      'bare UPDATE: `UPDATE pgbench_accounts SET <shadow column> = <up>` after bellows’ expand step alone (shadow column added, no trigger on the table: checked)',
      'with the trigger: the same statement after bellows’ expand and dual-write steps, the trigger told to step aside as a batch tells it (bellows.backfill = on)',
      'each on a fresh copy of the pgbench tables; time includes COMMIT; WAL a row: the WAL insert position before BEGIN and after COMMIT, ÷ rows',
      'the trigger’s WHEN clause spares each row the function call, not the trigger: PostgreSQL locks every row it updates before it evaluates a BEFORE UPDATE ' +
        'trigger’s WHEN (one more Heap/LOCK WAL record a row in pg_waldump), so every backfill that dual-writes through a trigger pays this, bellows’ and pgroll’s alike',
      ...results.flatMap((r) =>
        r.triggeredRatios.length > 1 ? [`${num(r.rows)} rows, UPDATE with the trigger, each round ÷ its own bare UPDATE: ${r.triggeredRatios.map((x) => x.toFixed(2)).join(', ')}`] : [],
      ),
    ],
  };
}

function target(p: number): { text: string; min: number } {
  return p === 1 ? { text: '≥ 0.85', min: 0.85 } : { text: '≥ 1.10', min: 1.1 };
}

const pgrollLabel = (batchSize: number) => `pgroll, batch ${num(batchSize)}${batchSize === PGROLL_DEFAULT_BATCH_SIZE ? ' (its default)' : ''}`;

export function throughputTables(results: ScaleResults[], parallelisms: number[]): Table[] {
  const rows: Cell[][] = [];
  for (const r of results) {
    for (const p of parallelisms) {
      const b = r.bellows.get(p);
      const x = per(b, r.bare);
      const t = target(p);
      rows.push([num(r.rows), `bellows, parallelism ${p}`, seconds(b?.ms), num(b?.rowsPerSec), b ? `${b.ranges}/${b.batches}` : '–', ratio(x), t.text, atLeast(x, t.min), ratio(per(b, r.triggered))]);
    }
    for (const g of r.pgroll) {
      rows.push([num(r.rows), pgrollLabel(g.batchSize), seconds(g.ms), num(g.rowsPerSec), '–', ratio(per(g, r.bare)), '', '', ratio(per(g, r.triggered))]);
    }
  }
  const tables: Table[] = [
    {
      title: '2. Backfill, unthrottled (bellows: maxRowsPerSec 0, batchTimeMs 200), against the bare UPDATE',
      headers: ['rows', 'backfill', 'time', 'rows/s', 'ranges/batches', '÷ bare UPDATE', 'target', '', '÷ UPDATE with the trigger'],
      rows,
      notes: [
        'bellows time: the run’s backfill_started_at → backfill_done_at in the state store; rows: the sum of the ranges’ checkpoints',
        '`bellows start` as a subprocess (src/cli/bin.mjs), each on a fresh copy of the tables',
        '÷ bare UPDATE: against the bare UPDATE of table 1 at the same size, in this run',
        '÷ UPDATE with the trigger: against table 1’s UPDATE with the dual-write trigger in place, the limit of one statement that a backfill beside live dual-writes can reach',
        ...roundNotes(results, parallelisms),
        ...(results.some((r) => r.pgroll.length)
          ? [
              'pgroll: rows ÷ wall time of `pgroll start` without --complete (its DDL, process start and backfill), after `init` and `baseline`; ' +
                'counted only after its shadow column was found filled in every row and, after `pgroll complete` (not timed), the column was bigint in the catalog',
            ]
          : []),
      ],
    },
  ];
  if (results.length > 1) {
    const first = results[0];
    const last = results.at(-1)!;
    const line = (label: string, a?: number, b?: number): Cell[] => {
      const g = a && b ? b / a : null;
      return [label, num(a), num(b), ratio(g), `≥ ${FLAT_RATE.toFixed(2)}`, atLeast(g, FLAT_RATE)];
    };
    const batchSizes = [...new Set(results.flatMap((r) => r.pgroll.map((g) => g.batchSize)))];
    const pgrollAt = (r: ScaleResults, size: number) => r.pgroll.find((g) => g.batchSize === size)?.rowsPerSec;
    tables.push({
      title: `2b. Does the rate fall as the table grows? (${num(last.rows)} ÷ ${num(first.rows)} rows)`,
      headers: ['', `rows/s at ${num(first.rows)}`, `rows/s at ${num(last.rows)}`, 'ratio', 'target', ''],
      rows: [
        line('bare UPDATE', first.bare?.rowsPerSec, last.bare?.rowsPerSec),
        line('UPDATE with the trigger in place', first.triggered?.rowsPerSec, last.triggered?.rowsPerSec),
        ...parallelisms.map((p) => line(`bellows, parallelism ${p}`, first.bellows.get(p)?.rowsPerSec, last.bellows.get(p)?.rowsPerSec)),
        ...batchSizes.map((size) => line(pgrollLabel(size), pgrollAt(first, size), pgrollAt(last, size))),
      ],
    });
  }
  return tables;
}

/** Each round's own ratio, when there were several: how far one round can be from the median on this machine. */
function roundNotes(results: ScaleResults[], parallelisms: number[]): string[] {
  return results.flatMap((r) =>
    parallelisms.flatMap((p) => {
      const ratios = r.roundRatios.get(p) ?? [];
      return ratios.length > 1 ? [`${num(r.rows)} rows, parallelism ${p}, each round ÷ its own bare UPDATE: ${ratios.map((x) => x.toFixed(2)).join(', ')}`] : [];
    }),
  );
}

/** Skewed composite keys against the int key: the same change, the same size and parallelism. */
export function skewedTable(results: ScaleResults[], parallelisms: number[]): Table {
  const rows: Cell[][] = [];
  for (const r of results) {
    rows.push([num(r.rows), 'bare UPDATE (skewed table)', seconds(r.skewedBare?.ms), num(r.skewedBare?.rowsPerSec), '–', '', '', '', '']);
    for (const p of parallelisms) {
      const s = r.skewed.get(p);
      const x = per(s, r.bellows.get(p));
      rows.push([
        num(r.rows),
        `bellows, parallelism ${p}`,
        seconds(s?.ms),
        num(s?.rowsPerSec),
        s ? `${s.ranges}/${s.batches}` : '–',
        ratio(x),
        `≥ ${SKEWED_TARGET.toFixed(2)}`,
        atLeast(x, SKEWED_TARGET),
        ratio(per(s, r.skewedBare)),
      ]);
    }
  }
  return {
    title: '2c. Skewed composite key: (tenant text, id uuid), 90% of the rows in one tenant',
    headers: ['rows', 'backfill', 'time', 'rows/s', 'ranges/batches', '÷ int key, same p', 'target', '', '÷ bare UPDATE (skewed)'],
    rows,
    notes: [
      'table `skewed (tenant text, id uuid, payload int, PRIMARY KEY (tenant, id))`: 90% of the rows under tenant acme, the rest over 100 tenants sorting before and after it; heap in key order, as pgbench_accounts’',
      'alter_column payload int → bigint, `bellows start` as in table 2; ÷ int key: against bellows’ rows/s on pgbench_accounts at the same size and parallelism in this run',
      '÷ bare UPDATE (skewed): against one bare UPDATE of the skewed table after expand alone, to tell the key’s cost from the table’s',
    ],
  };
}

/** The BullMQ executor against the local one: the same table, playbook, flags and rows/s, in this run. */
export function bullmqTable(results: ScaleResults[]): Table {
  const p = BULLMQ_PARALLELISM;
  const rows: Cell[][] = results.map((r) => {
    const b = r.bullmq;
    const local = r.bellows.get(p);
    const x = per(b, local);
    return [
      num(r.rows),
      `BullMQ, 1 worker, concurrency ${p} (parallelism ${p})`,
      seconds(b?.ms),
      num(b?.rowsPerSec),
      b ? `${b.ranges}/${b.batches}` : '–',
      num(local?.rowsPerSec),
      ratio(x),
      `≥ ${BULLMQ_TARGET.toFixed(2)}`,
      atLeast(x, BULLMQ_TARGET),
      `${millis(b?.tailMs, 0)} / ${millis(local?.tailMs, 0)}`,
    ];
  });
  return {
    title: `2d. BullMQ executor against the local executor (parallelism ${p})`,
    headers: ['rows', 'backfill', 'time', 'rows/s', 'ranges/batches', `local p${p} rows/s`, '÷ local', 'target', '', 'end noticed: BullMQ / local'],
    rows,
    notes: [
      `\`bellows worker --executor bullmq --concurrency ${p}\` (one process) on a redis-server of the bench's own, then \`bellows start --executor bullmq --wait\` with table 2's flags and --parallelism ${p}, on a fresh copy of the same tables`,
      'time and rows as in table 2 (backfill_started_at → backfill_done_at, the ranges’ checkpoints); ÷ local: against table 2’s bellows at the same size and parallelism, in this run',
      'end noticed: from the last range’s last checkpoint to backfill_done_at, inside the measured time (the BullMQ driver polls its range jobs in Redis; the local executor awaits its walkers)',
    ],
  };
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

export function loadTable(l: LoadResult, seconds_: number, rounds: number): Table {
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
  const ratios = [...l.dualWriteRatios].sort((a, b) => a - b);
  const middle = ratios.length / 2;
  const dualRatio = ratios.length % 2 ? ratios[Math.floor(middle)] : (ratios[middle - 1] + ratios[middle]) / 2;
  const dualOk = dualRatio >= 0.9;
  const backfillOk = d.tps >= 0.9 * base.tps && d.p99Ms <= 2 * base.p99Ms && d.failed === 0 && d.aborted === 0;
  return {
    title: `3. Foreground load: pgbench -N -c 4 -j 2 -T ${seconds_}`,
    headers: ['', 'window', 'TPS', '÷ base', 'avg latency', 'p99 latency', 'p99 ÷ base', 'failed', 'target', ''],
    rows: [
      row('baseline (bellows trigger disabled)', base, '0 failed', base.failed === 0 && base.aborted === 0),
      row('dual-write triggers, no backfill', l.dualWrite, 'median round ratio ≥ 0.90', dualOk),
      row('during bellows backfill (defaults)', d, 'TPS ≥ 0.90, p99 ≤ 2×, 0 failed', backfillOk),
      row('  whole pgbench run of the above (backfill, then verify)', l.backfillRun, '', null),
    ],
    notes: [
      'TPS, average and p99 from pgbench’s per-transaction logs (--log), successful transactions only; failed = failed transactions (log and summary)',
      `the backfill took ${seconds(l.backfillMs)}; it ran during ${(l.coverage * 100).toFixed(0)}% of the pgbench window, and only the transactions that completed while it ran are counted in “during”; after it, bellows went on into verify (the whole-run row)`,
      'windows run from the first transaction’s start to the last one’s end (pgbench’s connection setup excluded)',
      `baseline and dual-write take turns in ${rounds} rounds on one database (the trigger disabled or enabled, the first of each pair alternating); their TPS above are pooled over the rounds`,
      `the dual-write trigger's cost is judged on the median of the rounds' TPS ratios: ${ratio(dualRatio)} (rounds: ${l.dualWriteRatios.map((r) => r.toFixed(2)).join(', ')})`,
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
