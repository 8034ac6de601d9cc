import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll } from 'vitest';
import { waitFor as poll } from './poll.ts';
import { atFileEnd } from './cleanup.ts';

/**
 * The CLI as a user runs it: `node src/cli/bin.mjs …` in a child process, with
 * an environment we control (no DATABASE_URL leaking in from the test runner).
 */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(REPO, 'src/cli/bin.mjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** DATABASE_URL for the child; omitted means the child has none. */
  db?: string;
  env?: Record<string, string | undefined>;
  /** Kill the child (and fail) after this long; generous, it is a hang detector, not a timing assertion. */
  timeoutMs?: number;
}

/** The environment of a child command: the runner's, without what would leak into it, plus `options`. */
export function childEnv(options: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'DATABASE_URL' || k.startsWith('BELLOWS_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  if (options.db) env.DATABASE_URL = options.db;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its pipes are drained. */
  readonly exited: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

/** A spawned command's limit unless it says otherwise: twice vitest's testTimeout. */
const LONG_LIVED_MS = 600_000;
const live = new Set<ChildProcess>();
afterAll(() => {
  // A failed test must not leave a driver behind holding locks on the next file's database.
  for (const child of live) child.kill('SIGKILL');
});

/** Starts a long-running command (e.g. `start` on a throttled backfill) and returns at once. */
export function spawnCli(args: string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: childEnv(options), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A long-lived child (a driver, a watcher) may span several tests of its file: its default limit is
  // past any one test's, and the file's end kills what is left (above).
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? LONG_LIVED_MS);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}

/** Runs one command to its end. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await spawnCli(args, { timeoutMs: 90_000, ...options }).exited;
  if (result.signal === 'SIGKILL') throw new Error(`bellows ${args.join(' ')} did not finish in time:\n${describe(result)}`);
  return result;
}

/** Runs `fn` over `items`, `limit` at a time (CLI processes: the machine has two cores), results in order. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** For failure messages: what the command printed. */
export function describe(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** `bellows status <run> --json` as an operator's script reads it; a failed command fails the test with its output. */
export async function statusJson(db: string, runId: string) {
  const result = await runCli(['status', runId, '--json'], { db });
  if (result.code !== 0) throw new Error(`bellows status ${runId} --json failed:\n${describe(result)}`);
  return JSON.parse(result.stdout);
}

/** The lines a command wrote to stderr, without empty ones. */
export function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** Subprocess tests poll with generous deadlines, because the machine is shared. */
export function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, intervalMs = 50): Promise<T> {
  return poll(what, check, timeoutMs, intervalMs);
}

/** The id `start` printed; fails at once, with the output, if the process exits before printing it. */
export async function startedRunId(proc: CliProcess, timeoutMs = 60_000): Promise<string> {
  let exited: CliResult | null = null;
  void proc.exited.then((r) => (exited = r));
  return waitFor('`start` to create its run', async () => {
    const id = /run (\d+) started/.exec(proc.stdout())?.[1];
    if (id) return id;
    if (exited) throw new Error(`start exited before creating its run:\n${describe(exited)}`);
    return null;
  }, timeoutMs);
}

/** A scratch directory for playbooks written by a test, removed after the file. */
export function scratchDir(): { dir: string; write(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'bellows-e2e-'));
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}

export function playbookPath(name: string): string {
  return join(REPO, 'playbooks', name);
}

/**
 * Everything a migration could leave behind, outside PostgreSQL's own schemas:
 * schemas, relations (tables, views, indexes, sequences), columns with types,
 * defaults and nullability, constraints, triggers, functions. Two equal
 * snapshots mean no DDL ran in between.
 */
export async function catalogSnapshot(db: pg.Pool): Promise<Record<string, unknown[]>> {
  const user = `NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    schemas: await q(`SELECT nspname FROM pg_namespace WHERE nspname ${user} AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%' ORDER BY 1`),
    relations: await q(
      `SELECT n.nspname, c.relname, c.relkind, c.relispartition FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname ${user} AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2`,
    ),
    columns: await q(
      `SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid) AS def
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname ${user} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2, a.attnum`,
    ),
    constraints: await q(
      `SELECT n.nspname, conrelid::regclass::text AS rel, conname, pg_get_constraintdef(c.oid) AS def, convalidated
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname ${user} ORDER BY 1, 2, 3`,
    ),
    indexes: await q(`SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE schemaname ${user} ORDER BY 1, 2`),
    triggers: await q(
      `SELECT tgrelid::regclass::text AS rel, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`,
    ),
    functions: await q(
      `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname ${user} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        ORDER BY 1, 2, 3`,
    ),
  };
}

/** The table's data as one digest, row by row in key order: "the same data" means the same digest. */
export async function tableDigest(db: pg.Pool, table: string, key = 'id'): Promise<{ rows: number; md5: string }> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.${key}), '')) AS md5 FROM ${table} t`,
  );
  return rows[0];
}
